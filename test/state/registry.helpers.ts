/** Builders for the registry tests: fixture events and replies, and hand-made ConferenceEvents. */
import { EslParser, decodeEvent, isEventFrame } from '../../src/esl/codec.js';
import { parseConferenceEvent } from '../../src/conference/events.js';
import type { ConferenceEvent, MemberState } from '../../src/conference/types.js';
import { readRaw, readSent } from '../helpers/fixtures.js';

/** Every conference event of a demo fixture, as the event parser makes them, for node `node`. */
export function fixtureEvents(name: string, node = 'fs1'): ConferenceEvent[] {
  const frames = new EslParser().push(readRaw(name));
  return frames
    .filter(isEventFrame)
    .map(decodeEvent)
    .map((e) => parseConferenceEvent(e, node))
    .filter((e): e is ConferenceEvent => e !== undefined);
}

/** The api/response bodies of a control fixture, paired with the command that asked for them. */
export function fixtureApiReplies(name: string): { command: string; body: string }[] {
  const frames = new EslParser().push(readRaw(name)).filter((f) => f.type === 'api/response');
  const commands = readSent(name)
    .map((s) => s.bytes.toString('utf8').trim())
    .filter((c) => c.startsWith('api '))
    .map((c) => c.slice(4));
  return frames.map((f, i) => ({ command: commands[i] ?? '', body: f.body }));
}

export function replyTo(name: string, command: string): string {
  const hit = fixtureApiReplies(name).find((r) => r.command === command);
  if (!hit) throw new Error(`no reply to ${command} in ${name}`);
  return hit.body;
}

export interface MemberSpec extends Partial<MemberState> {
  memberId: number;
  callId: string;
}

export function member(spec: MemberSpec): MemberState {
  return {
    callerIdName: `name-${spec.memberId}`,
    callerIdNumber: `${1000 + spec.memberId}`,
    isModerator: false,
    hear: true,
    see: true,
    speak: true,
    talking: false,
    floor: false,
    hold: false,
    muteDetect: false,
    video: false,
    ghost: false,
    energyLevel: 100,
    currentEnergy: 0,
    channelVars: {},
    ...spec,
  };
}

export interface EventSpec {
  node?: string;
  conference?: string;
  uuid?: string;
  member?: MemberState;
  headers?: Record<string, string>;
  timestampUs?: number;
}

let seq = 1;

/** A received (not synthesized) ConferenceEvent built by hand. */
export function event(action: string, spec: EventSpec = {}): ConferenceEvent {
  const node = spec.node ?? 'fs1';
  const ev: ConferenceEvent = {
    action,
    known: true,
    node,
    switchname: `${node}-switch`,
    coreUuid: `${node}-core`,
    conferenceName: spec.conference ?? 'room',
    conferenceUuid: spec.uuid ?? 'uuid-room',
    timestampUs: spec.timestampUs ?? Date.now() * 1000,
    sequence: seq++,
    details: {},
    synthesized: false,
    headers: { 'FreeSWITCH-Hostname': `${node}-host`, Action: action, ...spec.headers },
  };
  if (spec.member) ev.member = spec.member;
  return ev;
}
