/**
 * docs/asyncapi.yaml against the code. The document is a well-formed AsyncAPI 3 document (required
 * fields, every reference resolves, each operation uses its channel's messages); every event name the
 * code can publish has a message; the command schemas accept exactly what the command parser accepts;
 * and real traffic validates: a service on the simulator and the real RabbitMQ publishes a scripted
 * conference's events and answers commands in both forms. Every message must match exactly one message
 * of its channel (AsyncAPI's rule for an operation's messages), the one its name says; mutated copies of
 * real messages must match none.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { CHANGE_FIELDS } from '../../src/conference/member-fields.js';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import amqp, { type Channel, type ChannelModel, type ConsumeMessage } from 'amqplib';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createService, type ServiceHandle } from '../../src/app/service.js';
import { buildReply, dialReply, parseCommandMessage, type ItemOutcome } from '../../src/bus/command-message.js';
import { InvalidCommandMessageError } from '../../src/bus/errors.js';
import { commandRoutingKey, decodeSegment, eventRoutingKey } from '../../src/bus/routing.js';
import { ConferenceNotFoundError, MemberNotFoundError } from '../../src/conference/errors.js';
import { CONFMGR_ACTIONS, KNOWN_ACTIONS, MEMBER_ACTIONS, parseConferenceEvent } from '../../src/conference/events.js';
import { refusalEvent } from '../../src/entry/refusal-event.js';
import { toOutboundEvent, type PayloadContext } from '../../src/conference/payload.js';
import type { ConferenceEvent } from '../../src/conference/types.js';
import { parseConfig } from '../../src/config/load.js';
import { startSimulator, type Simulator } from '../../src/simulator/index.js';
import { silentLogger } from '../../src/util/log.js';
import { AMQP_URL, TestConsumer, deleteAll, uniqueName, type Received } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

/** The document is untyped YAML. */
type Json = any;

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const doc: Json = YAML.parse(readFileSync(join(root, 'docs', 'asyncapi.yaml'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };

// ---------------------------------------------------------------------------------------------
// Reading the document

function resolve(ref: string): Json {
  if (!ref.startsWith('#/')) throw new Error(`only local references are used: ${ref}`);
  let node: Json = doc;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) throw new Error(`unresolved reference ${ref}`);
    node = node[key];
  }
  return node;
}

function refsIn(node: Json, at: string, out: Array<{ ref: string; at: string }> = []): Array<{ ref: string; at: string }> {
  if (Array.isArray(node)) node.forEach((n, i) => refsIn(n, `${at}/${i}`, out));
  else if (node !== null && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === '$ref' && typeof v === 'string') out.push({ ref: v, at });
      else refsIn(v, `${at}/${k}`, out);
    }
  }
  return out;
}

/** A payload schema with every `$ref` into the document replaced by its target, for Ajv. */
function inline(schema: Json, stack: readonly string[] = []): Json {
  if (Array.isArray(schema)) return schema.map((s) => inline(s, stack));
  if (schema === null || typeof schema !== 'object') return schema;
  if (typeof schema.$ref === 'string') {
    const ref: string = schema.$ref;
    if (stack.includes(ref)) throw new Error(`reference cycle through ${ref}`);
    const target = inline(resolve(ref), [...stack, ref]);
    const { $ref: _ref, description: _description, ...siblings } = schema;
    return Object.keys(siblings).length === 0 ? target : { allOf: [target], ...inline(siblings, stack) };
  }
  return Object.fromEntries(Object.entries(schema).map(([k, v]) => [k, inline(v, stack)]));
}

// strictSchema: an unknown keyword (a typo such as `require`, or a YAML comma splitting a description) is an
// error, not a schema that accepts anything. `required` may name a property another allOf branch defines.
const ajv = new Ajv({ strict: true, strictTypes: false, strictRequired: false, allowUnionTypes: true, allErrors: true });
const validators = new Map<string, ValidateFunction>();
function validatorFor(componentKey: string): ValidateFunction {
  let v = validators.get(componentKey);
  if (!v) {
    v = ajv.compile(inline(doc.components.messages[componentKey].payload));
    validators.set(componentKey, v);
  }
  return v;
}

/** The channel's messages: their key in the channel → the component message key. */
function channelMessages(channel: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const [key, m] of Object.entries<Json>(doc.channels[channel].messages)) out.set(key, String(m.$ref).split('/').pop()!);
  return out;
}

/** Keys of the channel's messages the body validates against. */
function matches(channel: string, body: unknown): string[] {
  return [...channelMessages(channel)].filter(([, component]) => validatorFor(component)(body)).map(([key]) => key);
}

function why(channel: string, key: string, body: unknown): string {
  const v = validatorFor(channelMessages(channel).get(key)!);
  v(body);
  return `${key}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(body)}`;
}

/**
 * Event names the state layer makes up after a resync (synthesized events): the literal actions its
 * sources tell or synthesize, plus the member fields' change events (conference/member-fields.ts).
 */
function registrySynthesizedNames(): Set<string> {
  const names = new Set<string>();
  const dir = join(root, 'src', 'state');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.ts'))) {
    const text = readFileSync(join(dir, file), 'utf8');
    for (const m of text.matchAll(/\b(?:tell|synthesize)\(([^;]*?)[,)]/g)) for (const lit of m[1]!.matchAll(/'([a-z][a-z_-]*)'(?!\s+in\b)/g)) names.add(lit[1]!);
  }
  for (const f of CHANGE_FIELDS) for (const name of 'any' in f.change ? [f.change.any] : [f.change.set, f.change.unset]) names.add(name);
  return names;
}

const CODE_EVENT_NAMES = new Set([...KNOWN_ACTIONS, ...CONFMGR_ACTIONS, ...registrySynthesizedNames()]);

// ---------------------------------------------------------------------------------------------
// The document itself

describe('docs/asyncapi.yaml: the document', () => {
  it('is an AsyncAPI 3.0.0 document of this package, JSON over AMQP 0.9.1', () => {
    expect(doc.asyncapi).toBe('3.0.0');
    expect(typeof doc.info.title).toBe('string');
    expect(doc.info.version).toBe(pkg.version);
    expect(doc.defaultContentType).toBe('application/json');
    expect(doc.servers.rabbitmq).toMatchObject({ protocol: 'amqp', protocolVersion: '0.9.1' });
    expect(Object.keys(doc.channels).sort()).toEqual(['clusterReplies', 'clusterView', 'commandReplies', 'conferenceCommands', 'conferenceEvents', 'leasePresence']);
  });

  it('every $ref resolves; every component message belongs to a channel and has a payload', () => {
    const refs = refsIn(doc, '#');
    expect(refs.length).toBeGreaterThan(100);
    for (const { ref, at } of refs) expect(() => resolve(ref), at).not.toThrow();
    const used = new Set(Object.keys(doc.channels).flatMap((c) => [...channelMessages(c).values()]));
    for (const [key, m] of Object.entries<Json>(doc.components.messages)) {
      expect(used.has(key), `components/messages/${key} is in no channel`).toBe(true);
      expect(typeof m.payload, key).toBe('object');
      expect(typeof m.name, key).toBe('string');
    }
    for (const c of Object.keys(doc.channels)) {
      for (const [key, m] of Object.entries<Json>(doc.channels[c].messages)) {
        expect(m.$ref, `${c}/${key}`).toMatch(/^#\/components\/messages\//);
      }
    }
  });

  it("channels: address parameters are declared; keys built by the bus fit the addresses on the topic exchange 'conference'", () => {
    for (const [id, c] of Object.entries<Json>(doc.channels)) {
      const inAddress = c.address === null ? [] : [...String(c.address).matchAll(/\{([^}]+)\}/g)].map((m) => m[1]);
      expect(Object.keys(c.parameters ?? {}).sort(), id).toEqual([...new Set(inAddress)].sort());
    }
    const exchange = { name: 'conference', type: 'topic', durable: true, autoDelete: false, vhost: '/' };
    for (const id of ['conferenceEvents', 'conferenceCommands']) {
      expect(doc.channels[id].bindings.amqp).toMatchObject({ is: 'routingKey', exchange });
    }
    const config = parseConfig('freeswitch:\n  nodes: [{name: fs1, host: 127.0.0.1, password: ClueCon}]\n', 'x.yaml', { env: {} });
    expect(config.amqp.exchange).toBe(exchange.name);
    expect(addressMatch('conferenceEvents', eventRoutingKey('room.1', 'call 7'))).toEqual({ conference_id: 'room.1', call_id: 'call 7' });
    expect(addressMatch('conferenceEvents', eventRoutingKey('room.1'))).toEqual({ conference_id: 'room.1', call_id: 'room.1' });
    expect(addressMatch('conferenceCommands', commandRoutingKey('room.1'))).toEqual({ conference_id: 'room.1' });
    expect(doc.channels.commandReplies.address).toBeNull();
  });

  it("operations: each uses exactly its channel's messages; commands are answered on reply_to with the request's correlation_id", () => {
    const expected: Record<string, [string, string]> = {
      publishConferenceEvents: ['send', 'conferenceEvents'],
      receiveConferenceCommands: ['receive', 'conferenceCommands'],
      sendClusterView: ['send', 'clusterView'],
      receiveClusterView: ['receive', 'clusterView'],
      announceLeasePresence: ['send', 'leasePresence'],
      receiveLeasePresence: ['receive', 'leasePresence'],
    };
    expect(Object.keys(doc.operations).sort()).toEqual(Object.keys(expected).sort());
    const refsOf = (channel: string, list: Json[]): string[] =>
      list.map((m) => {
        expect(m.$ref).toMatch(new RegExp(`^#/channels/${channel}/messages/`));
        return String(m.$ref).split('/').pop()!;
      });
    for (const [id, [action, channel]] of Object.entries(expected)) {
      const op = doc.operations[id];
      expect(op.action).toBe(action);
      expect(op.channel.$ref).toBe(`#/channels/${channel}`);
      expect(refsOf(channel, op.messages).sort()).toEqual([...channelMessages(channel).keys()].sort());
    }
    const reply = doc.operations.receiveConferenceCommands.reply;
    expect(reply.address.location).toBe('$message.header#/reply_to');
    expect(reply.channel.$ref).toBe('#/channels/commandReplies');
    expect(refsOf('commandReplies', reply.messages).sort()).toEqual([...channelMessages('commandReplies').keys()].sort());
    for (const c of ['conferenceCommands', 'commandReplies']) {
      for (const component of channelMessages(c).values()) {
        expect(resolve(doc.components.messages[component].correlationId.$ref).location).toBe('$message.header#/correlation_id');
      }
    }
    expect(doc.operations.publishConferenceEvents.bindings.amqp).toMatchObject({ deliveryMode: 2, timestamp: true });
  });

  it('every payload is a strict JSON Schema, and every example validates against its message and no other', () => {
    let examples = 0;
    for (const [channel] of Object.entries<Json>(doc.channels)) {
      for (const [key, component] of channelMessages(channel)) {
        expect(() => validatorFor(component), component).not.toThrow();
        for (const ex of doc.components.messages[component].examples ?? []) {
          examples++;
          expect(matches(channel, ex.payload), why(channel, key, ex.payload)).toEqual([key]);
        }
      }
    }
    expect(examples).toBeGreaterThanOrEqual(8);
  });
});

function addressMatch(channel: string, key: string): Record<string, string> | undefined {
  const address: string = doc.channels[channel].address;
  const names: string[] = [];
  const re = new RegExp(
    '^' + address.replace(/\./g, '\\.').replace(/\{([^}]+)\}/g, (_m, n: string) => (names.push(n), '([^.]+)')) + '$',
  );
  const m = re.exec(key);
  if (!m) return undefined;
  return Object.fromEntries(names.map((n, i) => [n, decodeSegment(m[i + 1]!)]));
}

// ---------------------------------------------------------------------------------------------
// Events: every name, in the form the code builds it

const ctx: PayloadContext = { appName: 'confmgr', appVersion: pkg.version, nodeName: 'confmgr@test' };

/** A conference::maintenance event as FreeSWITCH sends it, through the real parser. */
function fsEvent(action: string, member: boolean): ConferenceEvent {
  const headers: Record<string, string> = {
    'Event-Name': 'CUSTOM',
    'Event-Subclass': 'conference::maintenance',
    'Core-UUID': '6f8a3d5e-0d3b-4c59-9a51-8c8e1b5d2f10',
    'FreeSWITCH-Switchname': 'vm',
    'Event-Date-Timestamp': '1764990000000000',
    'Event-Sequence': '812',
    'Conference-Name': 'room.1',
    'Conference-Size': '2',
    'Conference-Unique-ID': '2b1c5f0e-77a8-4f3e-9d61-0e4bb1d0a0c2',
    Action: action,
    File: '/usr/share/freeswitch/sounds/en/us/callie/conference/8000/conf-muted.wav',
    Path: '/var/lib/freeswitch/recordings/room.wav',
  };
  if (member) {
    Object.assign(headers, {
      'Member-ID': '3',
      'Member-Type': 'moderator',
      'Unique-ID': '8d3b54e2-0a7c-4d3c-b9a5-2d5f6a1c9e01',
      'Caller-Caller-ID-Name': 'Alice',
      'Caller-Caller-ID-Number': '1002',
      'Channel-Presence-ID': '1002@example.com',
      Floor: 'true',
      Hear: 'true',
      Speak: 'false',
      Talking: 'false',
      'Energy-Level': '300',
      'Current-Energy': '12',
      'variable_ecallmgr_Account-ID': 'acct1',
      variable_ecallmgr_Precedence: '5',
    });
  }
  return parseConferenceEvent({ name: 'CUSTOM', subclass: 'conference::maintenance', headers, body: '' }, 'fs1')!;
}

function payloadOf(action: string, member: boolean, synthesized = false): Record<string, unknown> {
  return toOutboundEvent(ctx, { ...fsEvent(action, member), synthesized }).payload;
}

function messageKeyFor(event: string): string {
  return CODE_EVENT_NAMES.has(event) ? event : 'unknown-action';
}

describe('events: every name the code can publish', () => {
  it("has one message per name: the conference layer's known actions, the registry's synthesized ones, unknown-action for the rest", () => {
    // The source scan itself found the registry's names (so this is not vacuous).
    expect([...registrySynthesizedNames()]).toEqual(expect.arrayContaining(['add-member', 'del-member', 'member-update', 'floor-change', 'lock']));
    const channel = [...channelMessages('conferenceEvents').keys()];
    expect(channel.sort()).toEqual([...CODE_EVENT_NAMES, 'unknown-action'].sort());
    for (const name of CODE_EVENT_NAMES) {
      const m = doc.components.messages[channelMessages('conferenceEvents').get(name)!];
      expect(m.name).toBe(name);
      expect(m.bindings.amqp.messageType).toBe(name);
    }
    const unknown = doc.components.messages['unknown-action'].payload.allOf[1].properties.event.not.enum as string[];
    expect([...unknown].sort()).toEqual([...CODE_EVENT_NAMES].sort());
  });

  it('accepts the payload the code builds for each name, in the form it builds it, and no other message does', () => {
    for (const action of KNOWN_ACTIONS) {
      const forms = MEMBER_ACTIONS.has(action) ? [true] : [false];
      for (const member of forms) {
        for (const synthesized of [false, true]) {
          const payload = payloadOf(action, member, synthesized);
          expect(matches('conferenceEvents', payload), why('conferenceEvents', action, payload)).toEqual([action]);
        }
      }
    }
    // A member action never comes in the conference form; the document says so.
    for (const action of MEMBER_ACTIONS) expect(matches('conferenceEvents', payloadOf(action, false))).toEqual([]);
    // Conference-level actions whose FreeSWITCH event may name a member accept the participant form.
    for (const action of ['floor-change', 'energy-level', 'dtmf']) {
      expect(matches('conferenceEvents', payloadOf(action, true))).toEqual([action]);
    }
    // The registry's own name, and an action this version does not know.
    expect(matches('conferenceEvents', payloadOf('member-update', true, true))).toEqual(['member-update']);
    expect(matches('conferenceEvents', payloadOf('member-update', true, false))).toEqual([]);
    expect(matches('conferenceEvents', payloadOf('mute-video-member-2030', true))).toEqual(['unknown-action']);
    expect(matches('conferenceEvents', payloadOf('conference-frobnicated', false))).toEqual(['unknown-action']);
    // The entry service's refusal, as it builds it.
    const refusal = refusalEvent(
      { reason: 'locked', cause: 'FACILITY_REJECTED', callId: 'c-1', conference: 'room', destination: '7200', callerIdNumber: '1001', callerIdName: 'Alice', accountId: 'acc' },
      { appName: 'confmgr', appVersion: '1.0.0', nodeName: 'confmgr@test' },
    )!;
    expect(matches('conferenceEvents', refusal.payload), why('conferenceEvents', 'refuse-member', refusal.payload)).toEqual(['refuse-member']);
    expect(matches('conferenceEvents', { ...refusal.payload, reason: 'bored' })).toEqual([]);
  });

  it('rejects payloads that differ from what the code builds', () => {
    const good = payloadOf('mute-member', true);
    expect(matches('conferenceEvents', good)).toEqual(['mute-member']);
    const mutants: Array<[string, (p: Record<string, unknown>) => void]> = [
      ['a required field missing', (p) => delete p.caller_id_name],
      ['a number as text', (p) => (p.participant_id = '3')],
      ['a boolean as text', (p) => (p.speak = 'false')],
      ['an unknown field', (p) => (p.colour = 'blue')],
      ['the other form', (p) => (p.event_name = 'conference_event')],
      ['a malformed msg_id', (p) => (p.msg_id = 'not-hex')],
      ['synthesized false', (p) => (p.synthesized = false)],
      ['a non-text channel variable', (p) => (p.custom_channel_vars = { account_id: 7 })],
    ];
    for (const [what, mutate] of mutants) {
      const p = structuredClone(good);
      mutate(p);
      expect(matches('conferenceEvents', p), what).toEqual([]);
    }
    const lock = payloadOf('lock', false);
    expect(matches('conferenceEvents', lock)).toEqual(['lock']);
    expect(matches('conferenceEvents', { ...lock, is_locked: false })).toEqual([]);
    const play = payloadOf('play-file', false);
    expect(matches('conferenceEvents', { ...play, details: {} })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Commands and replies: the schemas accept what the parser accepts

const KAZOO = { 'Event-Category': 'conference', 'Event-Name': 'command' };
const ACCEPTED: unknown[] = [
  { ...KAZOO, 'Application-Name': 'mute_participant', 'Conference-ID': 'room', 'Participant-ID': 2 },
  { ...KAZOO, 'Application-Name': 'dial', 'Conference-ID': 'room', Endpoints: ['user/1000@example.com', { Route: 'sofia/internal/1001@example.com', 'Endpoint-ID': 'e2' }], Timeout: 10, 'Participant-Flags': ['mute'] },
  { 'Application-Name': 'unmute_participant', 'Participant-ID': '2' },
  { 'Application-Name': 'deaf_participant', 'Participant-ID': [1, '2', 'last'], 'Msg-ID': 'm-1' },
  { 'Application-Name': 'undeaf_participant', 'Participant-ID': 'non_moderator' },
  { 'Application-Name': 'kick' },
  { 'Application-Name': 'kick', 'Participant-ID': 'all' },
  { ...KAZOO, 'Application-Name': 'lock', 'Server-ID': 'amqp://x', 'App-Name': 'crossbar', 'App-Version': '4.3', Node: 'kazoo@host' },
  { 'Application-Name': 'unlock', 'Conference-ID': 'room' },
  { 'Application-Name': 'play', 'Media-Name': 'tone_stream://%(200,0,500)' },
  { 'Application-Name': 'play', 'Media-Name': '/tmp/a.wav', 'Participant-ID': [2, 3] },
  { 'Application-Name': 'stop_play', Affects: 'current', 'Participant-ID': 2 },
  { 'Application-Name': 'stop_play' },
  { 'Application-Name': 'record', 'Media-Name': '/var/lib/freeswitch/recordings/a.wav' },
  { 'Application-Name': 'recordstop', 'Media-Name': '/var/lib/freeswitch/recordings/a.wav' },
  { 'Application-Name': 'participant_energy', 'Participant-ID': 2, 'Energy-Level': '300' },
  { 'Application-Name': 'participant_volume_in', 'Participant-ID': 2, 'Volume-In-Level': -2 },
  { 'Application-Name': 'participant_volume_out', 'Participant-ID': 'all', 'Volume-Out-Level': '3' },
  { 'Application-Name': 'relate_participants', 'Participant-ID': 2, 'Other-Participant': 3, Relationship: 'mute' },
  { 'Application-Name': 'relate_participants', 'Participant-ID': [2], 'Other-Participant': '3' },
  // kapi_conference SET_HEADERS / TONES_REQ (kapi_dialplan) / TTS_REQ / CONF_PLAY_MACRO_REQ / PARTICIPANTS_REQ / SEARCH_REQ
  { ...KAZOO, 'Application-Name': 'set', Parameter: 'Max-Members', Value: '10' },
  { 'Application-Name': 'set', Parameter: 'Caller-ID-Name', Value: 'Conference' },
  { 'Application-Name': 'tones', Tones: [{ Frequencies: [440, '480'], 'Duration-ON': 2000, 'Duration-OFF': '4000', Volume: -6, Repeat: 2 }] },
  { 'Application-Name': 'say', Text: 'Welcome to the conference' },
  { 'Application-Name': 'tts', Text: 'Hello', 'Participant-ID': 2, Voice: 'female', Language: 'en-us' },
  { 'Application-Name': 'play_macro', 'Media-Macro': ['/tmp/a.wav', '/tmp/b.wav'] },
  { 'Application-Name': 'play_macro', 'Media-Macro': ['/tmp/a.wav'], 'Participant-ID': [2, 3] },
  { ...KAZOO, 'Application-Name': 'participants', 'Conference-ID': 'room', 'Msg-ID': 'm-2' },
  { 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': 'room', 'Msg-ID': 's-1' },
  { command: { kind: 'set', param: 'max_members', value: '5' } },
  { command: { kind: 'say', text: 'hello there', member: 2 } },
  { command: { kind: 'lock' } },
  { command: { kind: 'mute', conference: 'room', target: 'all', quiet: true } },
  { command: { kind: 'energy', target: 2 } },
  { command: { kind: 'volume_in', target: '2', value: -1 } },
  { command: { kind: 'relate', member: 2, other: '3', relation: 'nohear' } },
  { command: { kind: 'dtmf', target: 'all', digits: '12#' } },
  { command: { kind: 'floor', member: 2 } },
  { command: { kind: 'play', file: 'tone_stream://%(100,0,350)', async: true } },
  { command: { kind: 'play', file: '/tmp/a.wav', member: 2 } },
  { command: { kind: 'stop', which: 'all', member: 2 } },
  { command: { kind: 'record', path: '/var/lib/freeswitch/recordings/a.wav' } },
  { command: { kind: 'norecord', path: 'all' } },
  { command: { kind: 'get', param: 'count' } },
  { command: { kind: 'json_list' } },
  { commands: [{ kind: 'lock', conference: 'room' }, { kind: 'hold', target: 2 }] },
];
const REFUSED: unknown[] = [
  { 'Application-Name': 'mute_participant' },
  { 'Application-Name': 'set', 'Max-Members': 5 },
  { 'Application-Name': 'lock', 'Event-Category': 'call' },
  { 'Application-Name': 'lock', 'Event-Name': 'command_resp' },
  { 'Application-Name': 'mute_participant', 'Participant-ID': 'bogus' },
  { 'Application-Name': 'mute_participant', 'Participant-ID': -1 },
  { 'Application-Name': 'mute_participant', 'Participant-ID': 2.5 },
  { 'Application-Name': 'mute_participant', 'Participant-ID': [] },
  { 'Application-Name': 'lock', 'Participant-ID': 'everyone' },
  { 'Application-Name': 'mute_participant', 'Participant-ID': 2, 'Conference-ID': '' },
  { 'Application-Name': 'play', 'Media-Name': '/tmp/a.wav', 'Participant-ID': 'all' },
  { 'Application-Name': 'play' },
  { 'Application-Name': 'stop_play', Affects: 'some' },
  { 'Application-Name': 'record' },
  { 'Application-Name': 'participant_energy', 'Participant-ID': 2 },
  { 'Application-Name': 'participant_energy', 'Participant-ID': 2, 'Energy-Level': 'loud' },
  { 'Application-Name': 'relate_participants', 'Participant-ID': 2 },
  { 'Application-Name': 'relate_participants', 'Participant-ID': 2, 'Other-Participant': 3, Relationship: 'friends' },
  { 'Application-Name': 'relate_participants', 'Participant-ID': 'last', 'Other-Participant': 3 },
  { 'Application-Name': 'set', Parameter: 'Max-Members' },
  { 'Application-Name': 'set', Parameter: 'Sound-Prefix', Value: '/tmp' },
  { 'Application-Name': 'set', Parameter: 'Max-Members', Value: '10', 'Participant-ID': 2 },
  { 'Application-Name': 'tones', Tones: [] },
  { 'Application-Name': 'tones', Tones: [{ Frequencies: [440] }] },
  { 'Application-Name': 'tones', Tones: [{ Frequencies: [440], 'Duration-ON': 100, 'Duration-OFF': 100 }], 'Participant-ID': 2 },
  { 'Application-Name': 'say' },
  { 'Application-Name': 'tts', Text: 'hi', 'Participant-ID': 'all' },
  { 'Application-Name': 'play_macro', 'Media-Macro': [] },
  { 'Application-Name': 'participants', 'Participant-ID': 2 },
  { 'Application-Name': 'dial' },
  { 'Application-Name': 'dial', Endpoints: [] },
  { 'Application-Name': 'dial', Endpoints: [{ 'Endpoint-ID': 'no-route' }] },
  { 'Application-Name': 'dial', Endpoints: ['user/1000'], 'Participant-ID': 2 },
  { 'Event-Category': 'conference', 'Event-Name': 'search_req' },
  { command: { kind: 'set', param: 'sound_prefix', value: '/tmp' } },
  { command: { kind: 'say' } },
  { command: { kind: 'mute' } },
  { command: { kind: 'lock', colour: 'blue' } },
  { command: { kind: 'explode' } },
  { command: { kind: 'play', file: '' } },
  { command: { kind: 'play', file: '/tmp/a.wav', member: 2, nomux: true } },
  { command: { kind: 'energy', target: 2, value: '300' } },
  { command: { kind: 'stop' } },
  { command: { kind: 'lock' }, commands: [{ kind: 'lock' }] },
  { commands: [] },
  { commands: Array.from({ length: 1001 }, () => ({ kind: 'count' })) },
  {},
  [],
];

function parserAccepts(body: unknown): boolean {
  try {
    parseCommandMessage(JSON.stringify(body), 'conference.command.room');
    return true;
  } catch (err) {
    if (err instanceof InvalidCommandMessageError) return false;
    throw err;
  }
}

const result = { command: 'conference room mute 2', node: 'fs1', reply: '+OK mute 2', data: { affected: [{ member: 2, action: 'mute' }], skippedModerators: [] } };
const notFound: ItemOutcome = { status: 'error', error: { code: 'MEMBER_NOT_FOUND', message: 'Member 99 not found in conference room', details: { conference: 'room', member: 99 } } };
const kazooParsed = { bulk: false, application: 'mute_participant', msgId: 'm-1' };
/** `conference room json_list` as FreeSWITCH answers it (one member). */
const jsonListResult = {
  command: 'conference room json_list',
  node: 'fs1',
  reply: JSON.stringify([
    {
      conference_name: 'room', conference_uuid: 'c0ffee00-0000-4000-8000-000000000001', member_count: 1, ghost_count: 0, rate: 8000, run_time: 12,
      locked: false, recording: false, running: true, answered: true, dynamic: true, variables: {},
      members: [{
        type: 'caller', id: 2, flags: { can_hear: true, can_see: true, can_speak: true, hold: false, mute_detect: false, talking: false, has_video: false, has_floor: true, is_moderator: false, end_conference: false, is_ghost: false },
        uuid: 'a0000000-0000-4000-8000-000000000002', caller_id_name: 'Alice', caller_id_number: '100', join_time: 10, last_talking: 0, energy: 100, volume_in: 0, volume_out: 0, output_volume: 0, input_volume: 0,
      }],
    },
  ]),
};

describe('commands and replies: the document agrees with the parser and the reply builder', () => {
  it('a command body matches exactly one command message when the parser accepts it, and none when it refuses it', () => {
    for (const body of ACCEPTED) {
      expect(parserAccepts(body), JSON.stringify(body)).toBe(true);
      expect(matches('conferenceCommands', body).length, JSON.stringify(body)).toBe(1);
    }
    for (const body of REFUSED) {
      expect(parserAccepts(body), JSON.stringify(body)).toBe(false);
      expect(matches('conferenceCommands', body), JSON.stringify(body)).toEqual([]);
    }
    expect(matches('conferenceCommands', ACCEPTED[0])).toEqual(['kapi_conference.mute_participant']);
    expect(matches('conferenceCommands', ACCEPTED[ACCEPTED.length - 1])).toEqual(['confmgr.commands']);
  });

  it('every reply shape the builder makes matches exactly its reply message', () => {
    const cases: Array<[string, unknown]> = [
      ['reply.success', buildReply([{ status: 'success', result }], kazooParsed)],
      ['reply.success', buildReply([{ status: 'success', result: { command: 'conference room lock', node: 'fs1', reply: '+OK room locked' } }], { bulk: false })],
      ['reply.error', buildReply([notFound], kazooParsed)],
      ['reply.error', buildReply([], undefined, new InvalidCommandMessageError('body is not JSON'))],
      ['reply.error', buildReply([], undefined, new MemberNotFoundError('room', 99))],
      ['reply.error', buildReply([], undefined, new Error('untyped'))],
      ['reply.bulk_success', buildReply([{ status: 'success', result }, { status: 'success', result }], { bulk: true })],
      ['reply.bulk_partial_failure', buildReply([{ status: 'success', result }, notFound], { ...kazooParsed, bulk: true })],
      ['reply.participants_resp', buildReply([{ status: 'success', result: jsonListResult }], { bulk: false, application: 'participants', msgId: 'm-2', answer: 'participants' })],
      ['reply.search_resp', buildReply([{ status: 'success', result: jsonListResult }], { bulk: false, application: 'search_req', answer: 'search' })],
      ['reply.error', buildReply([], { bulk: false, application: 'search_req', answer: 'search' }, new ConferenceNotFoundError('room'))],
      [
        'reply.dial_resp',
        dialReply({ msgId: 'm-3' }, {
          conference: 'room',
          node: 'fs1',
          profile: 'default',
          outcomes: [
            { endpointId: 'user/1000', callId: 'c-1', result: 'joined', message: 'dialing endpoints' },
            { endpointId: 'user/1001', callId: 'c-2', result: 'busy', message: 'USER_BUSY', hangupCause: 'USER_BUSY' },
          ],
        }),
      ],
    ];
    for (const [key, reply] of cases) expect(matches('commandReplies', reply), why('commandReplies', key, reply)).toEqual([key]);
    const ok = buildReply([{ status: 'success', result }], kazooParsed);
    expect(matches('commandReplies', { ...ok, status: 'error' })).toEqual([]);
    expect(matches('commandReplies', { ...ok, result: { ...result, reply: undefined } })).toEqual([]);
    expect(matches('commandReplies', { ...ok, 'Event-Name': 'conference_error' })).toEqual([]);
    const partial = buildReply([{ status: 'success', result }, notFound], { bulk: true }) as unknown as Record<string, unknown>;
    expect(matches('commandReplies', { ...partial, error: { code: 'MEMBER_NOT_FOUND', message: 'x' } })).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// Real traffic: the simulator, the service and RabbitMQ

interface Reply {
  body: Record<string, unknown>;
  msg: ConsumeMessage;
}

/** Sends commands on the exchange with reply_to (direct reply-to) and a correlation_id; keeps each reply. */
class Requester {
  private readonly pending = new Map<string, (r: Reply) => void>();
  private constructor(
    private readonly connection: ChannelModel,
    private readonly channel: Channel,
    private readonly exchange: string,
  ) {}

  static async open(exchange: string): Promise<Requester> {
    const connection = await amqp.connect(AMQP_URL);
    connection.on('error', () => undefined);
    const channel = await connection.createChannel();
    const r = new Requester(connection, channel, exchange);
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (msg) => {
        if (!msg) return;
        const id = String(msg.properties.correlationId);
        r.pending.get(id)?.({ body: JSON.parse(msg.content.toString('utf8')) as Record<string, unknown>, msg });
        r.pending.delete(id);
      },
      { noAck: true },
    );
    return r;
  }

  async send(conference: string, body: unknown): Promise<Reply & { correlationId: string }> {
    const correlationId = randomBytes(8).toString('hex');
    const reply = new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${JSON.stringify(body)}`)), 20_000);
      this.pending.set(correlationId, (r) => (clearTimeout(timer), resolve(r)));
    });
    const content = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
    this.channel.publish(this.exchange, commandRoutingKey(conference), content, { replyTo: 'amq.rabbitmq.reply-to', correlationId, contentType: 'application/json' });
    return { ...(await reply), correlationId };
  }

  async close(): Promise<void> {
    await this.connection.close().catch(() => undefined);
  }
}

describe('real traffic through RabbitMQ validates against the document', () => {
  const exchange = uniqueName('confmgr-asyncapi');
  const queue = uniqueName('confmgr-asyncapi-commands');
  const CONF = 'doc.room';
  let dir: string;
  let sim: Simulator;
  let service: ServiceHandle;
  let consumer: TestConsumer;
  let requester: Requester;
  const replies: Array<{ expect: string; sent: unknown; reply: Reply & { correlationId: string } }> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'confmgr-asyncapi-'));
    sim = await startSimulator({ port: 0, verboseEvents: true, heartbeatMs: 0, fileDurationMs: 100 });
    consumer = await TestConsumer.create(exchange, 'conference.event.#');
    const config = parseConfig(
      `
freeswitch:
  nodes:
    - {name: fs1, host: 127.0.0.1, port: ${sim.port}, password: ClueCon}
  reconnect: {base_ms: 50, cap_ms: 200}
amqp: {url: "${AMQP_URL}", exchange: ${exchange}, command_queue: ${queue}}
recordings: {dirs: ["${dir}"]}
storage: {path: ":memory:"}
log: {level: silent}
`,
      'asyncapi.yaml',
      { env: {} },
    );
    service = await createService(config, { logger: silentLogger, http: false, instanceName: 'confmgr@asyncapi' });
    await service.start();
    await pollUntil('node up', () => service.cluster.node('fs1').state === 'up', 20_000);
    await pollUntil('command intake', () => service.intake?.connected === true, 20_000);
    requester = await Requester.open(exchange);
  }, 60_000);

  afterAll(async () => {
    await requester?.close();
    await service?.stop('test done');
    await sim?.close();
    await consumer?.close();
    await deleteAll([exchange], [queue]);
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  it('a scripted conference: every event and every reply matches exactly the message its name says', async () => {
    const vars = { 'ecallmgr_Account-ID': 'acct1', ecallmgr_Precedence: '5', presence_id: '1001@example.com' };
    const mod = sim.engine.originate({ conference: CONF, moderator: true, callerIdNumber: '1001', callerIdName: 'Moderator', vars });
    const alice = sim.engine.originate({ conference: CONF, callerIdNumber: '1002', callerIdName: 'Alice', vars: { 'ecallmgr_Account-ID': 'acct1' } });
    const bob = sim.engine.originate({ conference: CONF, callerIdNumber: '1003', callerIdName: 'Bob' });
    const a = alice.member.id;
    const b = bob.member.id;
    await pollUntil('three joined', () => consumer.received.filter((r) => r.body.event === 'add-member').length === 3, 20_000);
    sim.engine.startTalking(CONF, a);
    sim.engine.stopTalking(CONF, a);

    const send = async (expectKey: string, body: unknown): Promise<void> => {
      replies.push({ expect: expectKey, sent: body, reply: await requester.send(CONF, body) });
    };
    const kazoo = (app: string, fields: Record<string, unknown> = {}) => ({ ...KAZOO, 'Application-Name': app, 'Conference-ID': CONF, 'Msg-ID': `m-${app}`, ...fields });
    // Kazoo's kapi_conference form.
    await send('reply.success', kazoo('mute_participant', { 'Participant-ID': a }));
    await send('reply.success', kazoo('unmute_participant', { 'Participant-ID': String(a) }));
    await send('reply.bulk_success', kazoo('deaf_participant', { 'Participant-ID': [a, b] }));
    await send('reply.success', kazoo('undeaf_participant', { 'Participant-ID': 'all' }));
    await send('reply.success', kazoo('lock'));
    await send('reply.success', kazoo('unlock'));
    await send('reply.success', kazoo('participant_energy', { 'Participant-ID': a, 'Energy-Level': 300 }));
    await send('reply.success', kazoo('participant_volume_in', { 'Participant-ID': a, 'Volume-In-Level': 2 }));
    await send('reply.success', kazoo('participant_volume_out', { 'Participant-ID': a, 'Volume-Out-Level': '-1' }));
    await send('reply.success', kazoo('relate_participants', { 'Participant-ID': a, 'Other-Participant': b, Relationship: 'mute' }));
    await send('reply.success', kazoo('relate_participants', { 'Participant-ID': a, 'Other-Participant': b }));
    await send('reply.success', kazoo('play', { 'Media-Name': 'tone_stream://%(100,0,350)' }));
    await send('reply.success', kazoo('play', { 'Media-Name': 'tone_stream://%(100,0,440)', 'Participant-ID': a }));
    // The member's tone ends by itself: wait for its done event, which a stop_play sent first would prevent.
    await pollUntil('play-file-member-done', () => consumer.received.some((r) => r.body.event === 'play-file-member-done'), 20_000);
    await send('reply.success', kazoo('stop_play', { Affects: 'all' }));
    await send('reply.success', kazoo('record', { 'Media-Name': join(dir, 'room.wav') }));
    await send('reply.success', kazoo('recordstop', { 'Media-Name': join(dir, 'room.wav') }));
    await send('reply.error', kazoo('record', { 'Media-Name': '/etc/passwd' }));
    await send('reply.error', kazoo('mute_participant', { 'Participant-ID': 99 }));
    await send('reply.error', kazoo('set', { 'Max-Members': 5 }));
    await send('reply.success', kazoo('set', { Parameter: 'Max-Members', Value: '10' }));
    await send('reply.success', kazoo('say', { Text: 'Welcome to the conference' }));
    await send('reply.success', kazoo('tts', { Text: 'Hello Alice', 'Participant-ID': a }));
    await send('reply.success', kazoo('tones', { Tones: [{ Frequencies: [440, 480], 'Duration-ON': 100, 'Duration-OFF': 0 }] }));
    await send('reply.success', kazoo('play_macro', { 'Media-Macro': ['tone_stream://%(50,0,350)', 'tone_stream://%(50,0,440)'] }));
    await send('reply.participants_resp', kazoo('participants'));
    await send('reply.search_resp', { 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': CONF, 'Msg-ID': 's-1' });
    await send('reply.error', { 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': 'nowhere' });
    // confmgr's own form.
    await send('reply.success', { command: { kind: 'dtmf', target: a, digits: '12#' } });
    await send('reply.success', { command: { kind: 'floor', member: a } });
    await send('reply.success', { command: { kind: 'hold', target: b } });
    await send('reply.success', { command: { kind: 'unhold', target: b } });
    await send('reply.success', { command: { kind: 'energy', target: a } });
    await send('reply.success', { command: { kind: 'get', param: 'count' } });
    await send('reply.success', { command: { kind: 'count' } });
    await send('reply.success', { command: { kind: 'list' } });
    await send('reply.success', { command: { kind: 'json_list' } });
    await send('reply.bulk_success', { commands: [{ kind: 'tmute', target: a }, { kind: 'tmute', target: a }] });
    await send('reply.bulk_partial_failure', { commands: [{ kind: 'mute', target: a }, { kind: 'mute', target: 99 }] });
    await send('reply.error', { command: { kind: 'explode' } });
    await send('reply.error', 'this is not JSON');
    await send('reply.success', kazoo('kick', { 'Participant-ID': b }));
    sim.engine.hangup(alice.member.callId);
    sim.engine.hangup(mod.member.callId);
    await pollUntil('conference-destroy', () => consumer.received.some((r) => r.body.event === 'conference-destroy'), 20_000);

    // Every reply: its message and no other, the request's correlation_id, JSON.
    for (const { expect: key, sent, reply } of replies) {
      const label = `${JSON.stringify(sent)} → ${JSON.stringify(reply.body)}`;
      expect(matches('commandReplies', reply.body), label).toEqual([key]);
      expect(reply.msg.properties.correlationId, label).toBe(reply.correlationId);
      expect(reply.msg.properties.contentType, label).toBe(doc.defaultContentType);
      // What was sent is a command message, unless it was meant to be refused.
      const refused = reply.body.error && (reply.body.error as { code: string }).code === 'INVALID_COMMAND';
      if (typeof sent !== 'string') expect(matches('conferenceCommands', sent).length, label).toBe(refused ? 0 : 1);
    }

    // Every event: its message and no other, on a key that fits the address, with the AMQP properties.
    const events: Received[] = consumer.received;
    const seen = new Set<string>();
    for (const r of events) {
      const body = r.body;
      const name = String(body.event);
      seen.add(name);
      const key = messageKeyFor(name);
      expect(matches('conferenceEvents', body), why('conferenceEvents', key, body)).toEqual([key]);
      const params = addressMatch('conferenceEvents', r.routingKey);
      expect(params, r.routingKey).toEqual({
        conference_id: body.conference_id,
        call_id: body.event_name === 'participant_event' ? body.call_id : body.conference_id,
      });
      const message = doc.components.messages[channelMessages('conferenceEvents').get(key)!];
      if (key !== 'unknown-action') expect(r.msg.properties.type).toBe(message.bindings.amqp.messageType);
      expect(r.msg.properties.messageId).toBe(body.msg_id);
      expect(r.msg.properties.contentType).toBe(doc.defaultContentType);
      expect(r.msg.properties.deliveryMode).toBe(doc.operations.publishConferenceEvents.bindings.amqp.deliveryMode);
      expect(typeof r.msg.properties.timestamp).toBe('number');
    }
    expect([...seen]).toEqual(
      expect.arrayContaining([
        'conference-create', 'add-member', 'start-talking', 'stop-talking', 'mute-member', 'unmute-member',
        'deaf-member', 'undeaf-member', 'lock', 'unlock', 'energy-level-member', 'volume-in-member',
        'volume-out-member', 'play-file-done', 'start-recording', 'stop-recording', 'dtmf-member',
        'floor-change', 'hold-member', 'unhold-member', 'hup-member', 'del-member', 'conference-destroy', 'play-file',
        'play-file-member', 'play-file-member-done',
      ]),
    );

    // Mutated copies of real messages fail.
    const join1 = events.find((r) => r.body.event === 'add-member')!.body;
    expect(join1.custom_channel_vars).toMatchObject({ account_id: 'acct1' });
    for (const mutate of [
      (p: Record<string, unknown>) => delete p.call_id,
      (p: Record<string, unknown>) => (p.hear = 1),
      (p: Record<string, unknown>) => (p.event_category = 'call'),
      (p: Record<string, unknown>) => (p.routing_key = 'conference.event.x.y'),
    ]) {
      const p = structuredClone(join1);
      mutate(p);
      expect(matches('conferenceEvents', p)).toEqual([]);
    }
    const destroy = events.find((r) => r.body.event === 'conference-destroy')!.body;
    expect(matches('conferenceEvents', { ...destroy, participants: -1 })).toEqual([]);
    const success = replies.find((r) => r.expect === 'reply.success')!.reply.body;
    expect(matches('commandReplies', { ...success, result: { reply: '+OK' } })).toEqual([]);
  }, 90_000);
});
