/**
 * An outbound event's payload as JSON text, computed once per event and shared by everyone who sends
 * it (the AMQP publisher, the WebSocket hub): the same bytes everywhere, one JSON.stringify. The
 * events toOutboundEvent builds keep their text in a private field (invisible to JSON, spreads,
 * Object.keys and equality checks; a WeakMap or a property added later costs more per event than
 * the second JSON.stringify it saves). An event's payload is neither changed nor replaced once the
 * event is handed over for sending, so the text stays its text. Other events are serialized per call.
 * A participant event's text comes from its layout's writer (layout-json.ts): the same bytes as
 * JSON.stringify, cheaper.
 */
import type { OutboundEvent } from './types.js';

/** An OutboundEvent that remembers its payload's JSON text once asked. */
export class SerializableEvent implements OutboundEvent {
  // Declared, not initialized: the keys are the constructor's, in its order (conference-level events have no callId).
  declare event: string;
  declare conferenceId: string;
  declare timestampUs: number;
  declare synthesized?: boolean;
  declare callId?: string;
  declare payload: Record<string, unknown>;
  #text: string | undefined = undefined;
  readonly #toJson: (payload: Record<string, unknown>) => string;

  constructor(
    event: string,
    conferenceId: string,
    callId: string | undefined,
    timestampUs: number,
    payload: Record<string, unknown>,
    synthesized: boolean | undefined,
    toJson: (payload: Record<string, unknown>) => string = JSON.stringify,
  ) {
    this.event = event;
    this.conferenceId = conferenceId;
    this.timestampUs = timestampUs;
    this.synthesized = synthesized;
    if (callId !== undefined) this.callId = callId;
    this.payload = payload;
    this.#toJson = toJson;
  }

  text(): string {
    return (this.#text ??= this.#toJson(this.payload));
  }
}

/** `JSON.stringify(event.payload)`, computed once for an event toOutboundEvent built. */
export function serializedPayload(event: OutboundEvent): string {
  return event instanceof SerializableEvent ? event.text() : JSON.stringify(event.payload);
}
