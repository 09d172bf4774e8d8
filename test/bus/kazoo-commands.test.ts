/**
 * The kapi_conference messages beyond mute/lock/play, sent exactly as Kazoo sends them (field names
 * from kapi_conference.erl's SET_HEADERS, CONF_SAY_REQ_VALUES / TTS_REQ_HEADERS, TONES_REQ_HEADERS,
 * CONF_PLAY_MACRO_REQ_HEADERS, PARTICIPANTS_REQ_HEADERS and SEARCH_REQ_HEADERS) over the real RabbitMQ
 * to a service on the simulator: each reply's shape, and what the simulator did.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REL_ACCOUNT, startRelRig, waitUntil, wireCommandLines, type RelRig } from '../helpers/rel-service.js';
import { CommandRequester } from '../helpers/bus-amqp.js';

const CONF = 'kz-room';
const KAZOO = { 'Event-Category': 'conference', 'Event-Name': 'command', 'Conference-ID': CONF };

let rig: RelRig;
let requester: CommandRequester;
let first = 0;
let second = 0;

beforeAll(async () => {
  rig = await startRelRig({ commandIntake: true });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '100', callerIdName: 'Alice', vars: { account_id: REL_ACCOUNT } });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '101', vars: { account_id: REL_ACCOUNT } });
  await waitUntil('members in the registry', () => rig.service.registry.participants(CONF).length === 2);
  await waitUntil('command intake connected', () => rig.service.intake?.connected === true, 15_000);
  const ids = conference().members.map((m) => m.id).sort((a, b) => a - b);
  [first, second] = ids as [number, number];
  requester = await CommandRequester.open(rig.exchange);
}, 40_000);

afterAll(async () => {
  await requester?.close();
  await rig?.close();
}, 30_000);

function conference() {
  const c = rig.sim.engine.conferences().find((x) => x.name === CONF);
  if (!c) throw new Error('no conference');
  return c;
}

function rpc(body: unknown): Promise<Record<string, unknown>> {
  return requester.send(CONF, body);
}

function lastWireLine(): string {
  return wireCommandLines(rig.sim).filter((l) => l.startsWith('api conference') || l.startsWith('bgapi conference')).at(-1) ?? '';
}

describe('kapi_conference set (SET_HEADERS: Parameter in Max-Members | Caller-ID-Name | Caller-ID-Number, Value)', () => {
  it('Max-Members → `set max_members N`: the reply carries the previous value; a full conference refuses the next call', async () => {
    const reply = await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Max-Members', Value: '2', 'Msg-ID': 'set-1' });
    expect(reply).toMatchObject({
      status: 'success',
      'Event-Name': 'command_resp',
      'Application-Name': 'set',
      'Msg-ID': 'set-1',
      result: { command: `conference ${CONF} set max_members 2`, reply: '0', data: { param: 'max_members', previous: 0, value: 2 } },
    });
    expect(conference().maxMembers).toBe(2);
    expect(() => rig.sim.engine.originate({ conference: CONF, callerIdNumber: '102' })).toThrow();
    const back = await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Max-Members', Value: '0' });
    expect(back).toMatchObject({ status: 'success', result: { data: { previous: 2, value: 0 } } });
  });

  it('Caller-ID-Name / Caller-ID-Number → `set caller_id_name|caller_id_number`', async () => {
    expect(await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Caller-ID-Name', Value: 'Sales' })).toMatchObject({ status: 'success' });
    expect(await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Caller-ID-Number', Value: '+15550100' })).toMatchObject({ status: 'success' });
    expect(conference()).toMatchObject({ callerIdName: 'Sales', callerIdNumber: '+15550100' });
  });

  it('refuses a value mod_conference would split (a space), and parameters Kazoo does not define, before anything is sent', async () => {
    const before = wireCommandLines(rig.sim).length;
    const spaced = await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Caller-ID-Name', Value: 'Sales Team' });
    expect(spaced).toMatchObject({ status: 'error', 'Event-Name': 'conference_error', error: { code: 'INVALID_ARGUMENT' } });
    expect(String(spaced['Error-Message'])).toMatch(/whitespace/);
    const unknown = await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Sound-Prefix', Value: '/tmp' });
    expect(unknown).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
    const negative = await rpc({ ...KAZOO, 'Application-Name': 'set', Parameter: 'Max-Members', Value: '-1' });
    expect(negative).toMatchObject({ status: 'error', error: { code: 'INVALID_ARGUMENT' } });
    expect(wireCommandLines(rig.sim).length).toBe(before);
    expect(conference().callerIdName).toBe('Sales');
  });
});

describe('kapi_conference say / tts (CONF_SAY_REQ_VALUES, TTS_REQ_HEADERS: Text; Participant-ID optional)', () => {
  it('say → `say <Text>` to the whole conference', async () => {
    const reply = await rpc({ ...KAZOO, 'Application-Name': 'say', Text: 'Welcome to the conference' });
    expect(reply).toMatchObject({ status: 'success', 'Application-Name': 'say', result: { command: `conference ${CONF} say Welcome to the conference`, reply: '(say) OK' } });
    expect(conference().spoken.at(-1)).toEqual({ text: 'Welcome to the conference' });
  });

  it('tts with Participant-ID → `saymember <id> <Text>` (Voice / Language are the profile\'s)', async () => {
    const reply = await rpc({ ...KAZOO, 'Application-Name': 'tts', Text: 'You are muted', 'Participant-ID': second, Voice: 'female', Language: 'en-us' });
    expect(reply).toMatchObject({ status: 'success', result: { command: `conference ${CONF} saymember ${second} You are muted`, reply: '(saymember) OK' } });
    expect(conference().spoken.at(-1)).toEqual({ text: 'You are muted', member: second });
  });

  it('a member that is gone is MEMBER_NOT_FOUND; `$` (saymember expands channel variables) and line breaks never reach the wire', async () => {
    const gone = await rpc({ ...KAZOO, 'Application-Name': 'say', Text: 'hi', 'Participant-ID': 9999 });
    expect(gone).toMatchObject({ status: 'error', error: { code: 'MEMBER_NOT_FOUND' } });
    const before = wireCommandLines(rig.sim).length;
    for (const Text of ['${uuid_kill all}', 'hi\n\napi status', 'a\u0000b']) {
      const r = await rpc({ ...KAZOO, 'Application-Name': 'say', Text });
      expect(r, Text).toMatchObject({ status: 'error', error: { code: 'INVALID_ARGUMENT' } });
    }
    expect(wireCommandLines(rig.sim).length).toBe(before);
  });
});

describe('kapi_conference tones (TONES_REQ_HEADERS: Tones of Frequencies, Duration-ON, Duration-OFF, Volume, Repeat)', () => {
  it('plays one tone_stream:// built as ecallmgr builds it', async () => {
    const reply = await rpc({
      ...KAZOO,
      'Application-Name': 'tones',
      Tones: [
        { Frequencies: [440, 480], 'Duration-ON': 2000, 'Duration-OFF': 4000 },
        { Frequencies: ['350'], 'Duration-ON': '100', 'Duration-OFF': '0', Volume: -6, Repeat: 2 },
      ],
    });
    const file = 'tone_stream://%(2000,4000,440,480);v=-6;l=2;%(100,0,350)';
    expect(reply).toMatchObject({ status: 'success', 'Application-Name': 'tones', result: { command: `conference ${CONF} play ${file}`, data: { file } } });
    expect(lastWireLine()).toContain(`play ${file}`);
  });

  it('refuses a tone without durations', async () => {
    const r = await rpc({ ...KAZOO, 'Application-Name': 'tones', Tones: [{ Frequencies: [440] }] });
    expect(r).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
  });
});

describe('kapi_conference play_macro (CONF_PLAY_MACRO_REQ_HEADERS: Media-Macro)', () => {
  it('plays the files one after the other as one file_string://, to the conference or to a member', async () => {
    const all = await rpc({ ...KAZOO, 'Application-Name': 'play_macro', 'Media-Macro': ['/tmp/one.wav', '/tmp/two.wav'] });
    expect(all).toMatchObject({ status: 'success', result: { command: `conference ${CONF} play file_string:///tmp/one.wav!/tmp/two.wav` } });
    const one = await rpc({ ...KAZOO, 'Application-Name': 'play_macro', 'Media-Macro': ['/tmp/one.wav'], 'Participant-ID': first });
    expect(one).toMatchObject({ status: 'success', result: { command: `conference ${CONF} play file_string:///tmp/one.wav ${first}` } });
  });

  it('refuses a file name with the separator', async () => {
    const r = await rpc({ ...KAZOO, 'Application-Name': 'play_macro', 'Media-Macro': ['/tmp/a!b.wav'] });
    expect(r).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
  });
});

describe('kapi_conference participants (PARTICIPANTS_REQ_HEADERS → participants_resp with Participants)', () => {
  it('answers the participants list from the conference', async () => {
    const reply = await rpc({ ...KAZOO, 'Application-Name': 'participants', 'Msg-ID': 'p-1' });
    expect(reply).toMatchObject({ status: 'success', 'Event-Category': 'conference', 'Event-Name': 'participants_resp', 'Msg-ID': 'p-1', 'Conference-ID': CONF });
    expect(reply).not.toHaveProperty('result');
    const list = reply['Participants'] as Array<Record<string, unknown>>;
    expect(list.map((p) => p['Participant-ID']).sort()).toEqual([first, second].sort());
    const alice = list.find((p) => p['Caller-ID-Number'] === '100')!;
    const sim = conference().members.find((m) => m.callerIdNumber === '100')!;
    expect(alice).toMatchObject({ 'Call-ID': sim.uuid, 'Conference-Name': CONF, 'Caller-ID-Name': 'Alice', Hear: true, Speak: true, 'Is-Moderator': false });
  });

  it('refuses a Participant-ID (participants lists the whole conference)', async () => {
    const r = await rpc({ ...KAZOO, 'Application-Name': 'participants', 'Participant-ID': first });
    expect(r).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
  });
});

describe('kapi_conference search_req (SEARCH_REQ_HEADERS: Conference-ID) → search_resp (SEARCH_RESP_HEADERS)', () => {
  it('answers from the local live state: found, with participants and locked', async () => {
    await rpc({ ...KAZOO, 'Application-Name': 'lock' });
    const reply = await rpc({ 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': CONF, 'Msg-ID': 's-1' });
    expect(reply).toMatchObject({
      status: 'success',
      'Event-Name': 'search_resp',
      'Msg-ID': 's-1',
      'Conference-ID': CONF,
      UUID: conference().uuid,
      Locked: true,
      Running: true,
      'Participant-Count': 2,
      'Switch-Hostname': 'fs1',
    });
    expect((reply['Participants'] as unknown[]).length).toBe(2);
    await rpc({ ...KAZOO, 'Application-Name': 'unlock' });
  });

  it('a conference that is not here is CONFERENCE_NOT_FOUND; a search by Account-ID alone is refused', async () => {
    const missing = await rpc({ 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Conference-ID': 'kz-nowhere' });
    expect(missing).toMatchObject({ status: 'error', 'Event-Name': 'conference_error', error: { code: 'CONFERENCE_NOT_FOUND' } });
    const byAccount = await rpc({ 'Event-Category': 'conference', 'Event-Name': 'search_req', 'Account-ID': REL_ACCOUNT });
    expect(byAccount).toMatchObject({ status: 'error', error: { code: 'INVALID_COMMAND' } });
  });
});
