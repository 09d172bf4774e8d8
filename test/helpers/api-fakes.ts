/**
 * Unit-level stand-ins for the API's dependencies: an in-memory registry, a recording executor and
 * an event source. Used by test/api-*.test.ts that do not go through the simulator.
 */
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor, OutboundEvent } from '../../src/conference/types.js';
import type { ApiToken, EventSource, LiveConference, LiveParticipant, RealtimeRegistry } from '../../src/records/live.js';
import { buildCommand } from '../../src/conference/commands.js';

/** The two accounts the API tests use, each with its token. */
export const ACCOUNT_A = 'acc_a';
export const ACCOUNT_B = 'acc_b';
export const TOKEN_A = 'token-for-account-a-000000';
export const TOKEN_B = 'token-for-account-b-000000';

/** ApiDeps.tokens for those two accounts (a fresh array for each service). */
export function testTokens(): ApiToken[] {
  return [
    { token: TOKEN_A, account_id: ACCOUNT_A },
    { token: TOKEN_B, account_id: ACCOUNT_B },
  ];
}

export class FakeRegistry implements RealtimeRegistry {
  readonly live = new Map<string, LiveConference>();
  conferences(): LiveConference[] {
    return [...this.live.values()];
  }
  conference(name: string): LiveConference | undefined {
    return this.live.get(name);
  }
  start(name: string, over: Partial<LiveConference> = {}): LiveConference {
    const c: LiveConference = { name, uuid: `uuid-${name}`, node: 'fs1', focus: 'vm', is_locked: false, duration: 42, participants: [], ...over };
    this.live.set(name, c);
    return c;
  }
  join(name: string, p: Partial<LiveParticipant> & { participant_id: number; call_id: string }): LiveParticipant {
    const c = this.live.get(name) ?? this.start(name);
    const full: LiveParticipant = {
      conference_name: name,
      conference_uuid: c.uuid,
      switch_hostname: c.focus,
      floor: false,
      hear: true,
      speak: true,
      talking: false,
      mute_detect: false,
      energy_level: 100,
      current_energy: 0,
      video: false,
      is_moderator: false,
      join_time: 63_900_000_000,
      duration: 3,
      ...p,
    };
    c.participants.push(full);
    return full;
  }
  leave(name: string, callId: string): void {
    const c = this.live.get(name);
    if (c) c.participants = c.participants.filter((p) => p.call_id !== callId);
  }
}

export class FakeExecutor implements ConferenceCommandExecutor {
  readonly commands: ConferenceCommand[] = [];
  /** Set to make the next commands fail. */
  fail?: (c: ConferenceCommand) => Error | undefined;
  /** The api strings the real command builder made of them (so invalid commands fail here too). */
  readonly lines: string[] = [];
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    const line = buildCommand(command);
    this.commands.push(command);
    this.lines.push(line);
    const err = this.fail?.(command);
    if (err) throw err;
    return { command: line, node: 'fs1', reply: '+OK' };
  }
}

export class FakeEvents implements EventSource {
  private readonly listeners = new Set<(e: OutboundEvent) => void>();
  subscribe(listener: (e: OutboundEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get count(): number {
    return this.listeners.size;
  }
  emit(e: OutboundEvent): void {
    for (const l of this.listeners) l(e);
  }
}

/** A participant event as the conference layer would emit it (seed shape, trimmed to what matters). */
export function participantEvent(
  event: string,
  conferenceId: string,
  callId: string,
  memberId: number,
  over: Record<string, unknown> = {},
): OutboundEvent {
  return {
    event,
    conferenceId,
    callId,
    timestampUs: Date.now() * 1000,
    payload: {
      custom_channel_vars: {},
      caller_id_number: '1001',
      caller_id_name: 'Alice',
      mute_detect: false,
      video: false,
      energy_level: 100,
      current_energy: 0,
      talking: false,
      speak: true,
      hear: true,
      floor: false,
      participant_id: memberId,
      instance_id: `uuid-${conferenceId}`,
      conference_id: conferenceId,
      focus: 'vm',
      call_id: callId,
      event,
      node: 'confmgr@test',
      msg_id: `${callId}-${event}`,
      event_name: 'participant_event',
      event_category: 'conference',
      app_name: 'confmgr',
      app_version: '0.1.0',
      routing_key: 'participant_event',
      is_moderator: false,
      ...over,
    },
  };
}
