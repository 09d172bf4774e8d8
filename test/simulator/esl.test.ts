/** The simulator's Event Socket behaviour beyond the fixtures' scenarios (same rules, other inputs). */
import { describe, expect, it } from 'vitest';
import { decodeEvent, type EslFrame } from '../../src/esl/codec.js';
import type { Simulator } from '../../src/simulator/index.js';
import { FrameClient, waitFor } from '../helpers/sim-replay.js';
import { simScope } from '../helpers/sim-scope.js';

const { sim, track } = simScope();

async function client(s: Simulator, auth = true): Promise<FrameClient> {
  const c = await FrameClient.connect(s.port);
  track({ close: () => c.close() });
  await waitFor(() => c.frames.length >= 1, 'auth/request');
  if (auth) {
    c.send('auth ClueCon\n\n');
    await waitFor(() => c.frames.length >= 2, 'auth reply');
  }
  return c;
}

/** Sends one command and returns the next frame that is not an event. */
async function command(c: FrameClient, text: string): Promise<EslFrame> {
  const before = c.frames.length;
  c.send(text.endsWith('\n\n') ? text : text + '\n\n');
  let found: EslFrame | undefined;
  await waitFor(() => {
    found = c.frames.slice(before).find((f) => !f.type.startsWith('text/event-'));
    return found !== undefined;
  }, `reply to ${text}`);
  return found!;
}

const events = (c: FrameClient): ReturnType<typeof decodeEvent>[] =>
  c.frames.filter((f) => f.type.startsWith('text/event-')).map((f) => decodeEvent(f));

describe('simulator ESL server', () => {
  it('answers pipelined commands strictly in order, before and after auth', async () => {
    const s = await sim();
    const c = await client(s, false);
    c.send('api status\n\nauth ClueCon\n\napi conference list\n\nevent plain ALL\n\nbogus\n\napi nosuch x\n\n');
    await waitFor(() => c.frames.length >= 7, 'six replies');
    const replies = c.frames.slice(1).map((f) => `${f.type} ${f.headers['Reply-Text'] ?? f.body}`);
    expect(replies).toEqual([
      'command/reply -ERR command not found',
      'command/reply +OK accepted',
      'api/response +OK No active conferences.\n',
      'command/reply +OK event listener enabled plain',
      'command/reply -ERR command not found',
      'api/response -ERR nosuch Command not found!\n',
    ]);
  });

  it('url-encodes plain event values, sends raw UTF-8 in json, and counts Content-Length in bytes', async () => {
    const s = await sim();
    const plain = await client(s);
    const json = await client(s);
    await command(plain, 'event plain CUSTOM conference::maintenance');
    await command(json, 'event json CUSTOM conference::maintenance');
    s.engine.originate({ conference: 'utf', callerIdNumber: '1001', callerIdName: 'Zoë ☎ "q"/x' });
    await waitFor(() => events(plain).length >= 3 && events(json).length >= 3, 'create, add, floor');
    const plainAdd = plain.frames.find((f) => f.body.includes('Action: add-member'))!;
    expect(plainAdd.body).toContain('Caller-Caller-ID-Name: Zo%C3%AB%20%E2%98%8E%20%22q%22/x\n');
    const jsonAdd = json.frames.find((f) => f.body.includes('"Action":"add-member"'))!;
    expect(jsonAdd.body).toContain('"Caller-Caller-ID-Name":"Zoë ☎ \\"q\\"/x"');
    expect(Number(jsonAdd.headers['Content-Length'])).toBe(Buffer.byteLength(jsonAdd.body, 'utf8'));
    expect(Number(jsonAdd.headers['Content-Length'])).toBeGreaterThan(jsonAdd.body.length);
    expect(decodeEvent(plainAdd).headers['Caller-Caller-ID-Name']).toBe('Zoë ☎ "q"/x');
    expect(Object.keys(plainAdd.headers)).toEqual(['Content-Length', 'Content-Type']);
  });

  it('delivers xml events when asked for xml', async () => {
    const s = await sim();
    const c = await client(s);
    expect((await command(c, 'event xml CUSTOM conference::maintenance')).headers['Reply-Text']).toBe('+OK event listener enabled xml');
    s.engine.originate({ conference: 'x', callerIdNumber: '1' });
    await waitFor(() => c.frames.some((f) => f.type === 'text/event-xml' && f.body.includes('<Action>add-member</Action>')), 'xml event');
    const ev = decodeEvent(c.frames.find((f) => f.body.includes('<Action>add-member</Action>'))!);
    expect(ev.headers['Member-ID']).toBe('1');
    expect(ev.subclass).toBe('conference::maintenance');
  });

  it('filters: only matching events pass; filter delete restores the stream', async () => {
    const s = await sim();
    const c = await client(s);
    await command(c, 'event plain CUSTOM conference::maintenance');
    expect((await command(c, 'filter Action add-member')).headers['Reply-Text']).toBe('+OK filter added. [Action]=[add-member]');
    s.engine.originate({ conference: 'f', callerIdNumber: '1' });
    s.engine.originate({ conference: 'f', callerIdNumber: '2' });
    await waitFor(() => events(c).length >= 2, 'two add-member');
    await new Promise((r) => setTimeout(r, 50));
    expect(events(c).map((e) => e.headers.Action)).toEqual(['add-member', 'add-member']);
    expect((await command(c, 'filter delete Action add-member')).headers['Reply-Text']).toBe('+OK filter deleted. [Action]=[add-member]');
    s.engine.startTalking('f', 2);
    await waitFor(() => events(c).some((e) => e.headers.Action === 'start-talking'), 'unfiltered event');
    expect((await command(c, 'filter Action')).headers['Reply-Text']).toBe('-ERR invalid syntax');
  });

  it('nixevent and noevents stop the events they name', async () => {
    const s = await sim();
    const c = await client(s);
    await command(c, 'event plain BACKGROUND_JOB CUSTOM conference::maintenance');
    expect((await command(c, 'nixevent BACKGROUND_JOB')).headers['Reply-Text']).toBe('+OK events nixed');
    await command(c, 'bgapi status');
    s.engine.originate({ conference: 'n', callerIdNumber: '1' });
    await waitFor(() => events(c).length >= 3, 'maintenance events');
    await new Promise((r) => setTimeout(r, 50));
    expect(events(c).some((e) => e.name === 'BACKGROUND_JOB')).toBe(false);
    expect((await command(c, 'noevents')).headers['Reply-Text']).toBe('+OK no longer listening for events');
    const n = events(c).length;
    s.engine.startTalking('n', 1);
    await command(c, 'api status');
    expect(events(c).length).toBe(n);
  });

  it('bgapi: +OK Job-UUID reply, then BACKGROUND_JOB with the result as body; a client Job-UUID is kept', async () => {
    const s = await sim();
    const c = await client(s);
    await command(c, 'event json BACKGROUND_JOB');
    const reply = await command(c, 'bgapi conference nosuchconf list\nJob-UUID: 7f0d5b4e-0000-4000-8000-000000000001');
    expect(reply.headers['Reply-Text']).toBe('+OK Job-UUID: 7f0d5b4e-0000-4000-8000-000000000001');
    expect(reply.headers['Job-UUID']).toBe('7f0d5b4e-0000-4000-8000-000000000001');
    await waitFor(() => events(c).length >= 1, 'BACKGROUND_JOB');
    const job = events(c)[0]!;
    expect(job.name).toBe('BACKGROUND_JOB');
    expect(job.headers['Job-UUID']).toBe('7f0d5b4e-0000-4000-8000-000000000001');
    expect(job.headers['Job-Command']).toBe('conference');
    expect(job.headers['Job-Command-Arg']).toBe('nosuchconf list');
    expect(job.body).toBe('-ERR Conference nosuchconf not found\n');
    const generated = await command(c, 'bgapi status');
    expect(generated.headers['Job-UUID']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('sends HEARTBEAT to its subscribers at the configured interval', async () => {
    const s = await sim({ heartbeatMs: 40 });
    const c = await client(s);
    await command(c, 'event plain HEARTBEAT');
    await waitFor(() => events(c).length >= 2, 'two heartbeats', 5000);
    const hb = events(c)[0]!;
    expect(hb.name).toBe('HEARTBEAT');
    expect(hb.headers['Event-Info']).toBe('System Ready');
    expect(hb.headers['FreeSWITCH-Hostname']).toBe('vm');
  });

  it('verbose events carry the originate channel variables as variable_<name>', async () => {
    const s = await sim({ verboseEvents: true, hostname: 'fs1' });
    const c = await client(s);
    await command(c, 'event plain CUSTOM conference::maintenance');
    const r = await command(
      c,
      'api originate {origination_caller_id_number=1001,origination_caller_id_name=Ann,conference_call_id=abc-123}loopback/conf-v/default &park()',
    );
    expect(r.body).toMatch(/^\+OK [0-9a-f-]{36}\n$/);
    await waitFor(() => events(c).some((e) => e.headers.Action === 'add-member'), 'add-member');
    const add = events(c).find((e) => e.headers.Action === 'add-member')!;
    expect(add.headers.variable_conference_call_id).toBe('abc-123');
    expect(add.headers['Caller-Caller-ID-Name']).toBe('Ann');
    expect(add.headers['FreeSWITCH-Hostname']).toBe('fs1');
    expect(add.headers['Unique-ID']).not.toBe(r.body.slice(4, 40));
  });

  it('exit: +OK bye, the disconnect notice, then the socket closes', async () => {
    const s = await sim();
    const c = await client(s);
    c.send('exit\n\n');
    await waitFor(() => c.closed, 'close');
    expect(c.frames.slice(-2).map((f) => f.type)).toEqual(['command/reply', 'text/disconnect-notice']);
    expect(c.frames.at(-1)!.body).toBe('Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n');
  });

  it('refuses a wrong password with -ERR invalid and closes', async () => {
    const s = await sim({ password: 's3cret' });
    const c = await client(s, false);
    c.send('auth ClueCon\n\n');
    await waitFor(() => c.closed, 'close');
    expect(c.frames[1]!.headers['Reply-Text']).toBe('-ERR invalid');
  });
});
