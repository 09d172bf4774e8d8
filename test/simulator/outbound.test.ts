/**
 * The simulator's outbound Event Socket, byte by byte from the client's side (a plain TCP server
 * plays confmgr): what mod_event_socket.c writes for connect, myevents, linger, sendmsg, the
 * applications' events and the hangup (see test/fixtures/freeswitch/README.md, "Outbound mode").
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer, type Server, type Socket } from 'node:net';
import { OutboundDialer, startSimulator, type Simulator } from '../../src/simulator/index.js';
import { EslParser, decodeEvent, isEventFrame, urlDecode, type EslFrame } from '../../src/esl/index.js';
import { pollUntil } from '../helpers/wait.js';

let sim: Simulator;
let server: Server;
let port: number;
let accepted: Promise<Socket>;

beforeEach(async () => {
  sim = await startSimulator({ port: 0, heartbeatMs: 0, profiles: [{ name: 'small', rate: 8000, domain: '127.0.0.1', energyLevel: 100, maxMembers: 1, maxMembersSound: 'tone_stream://%(10,0,480)' }] });
  server = createServer();
  accepted = new Promise((resolve) => server.once('connection', resolve));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

afterEach(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await sim.close();
});

/** The client side: raw bytes kept, frames parsed. */
function client(socket: Socket) {
  const parser = new EslParser();
  const frames: EslFrame[] = [];
  let raw = '';
  socket.on('data', (chunk: Buffer) => {
    raw += chunk.toString('utf8');
    parser.feed(chunk, (f) => frames.push(f));
  });
  return {
    frames,
    raw: () => raw,
    send: (text: string) => socket.write(text),
    next: async (i: number) => pollUntil(`frame ${i}`, () => frames[i], 5000),
  };
}

describe('simulator outbound mode', () => {
  it('connect: nothing before it; then the channel data as an encoded event, Content-Type and Reply-Text at the bottom', async () => {
    const dialer = new OutboundDialer(sim.engine, { dialplan: { '5000': `127.0.0.1:${port} async full` }, playMs: 1 });
    const call = dialer.dial('5000', { callerIdNumber: '1001', callerIdName: 'Ann Example', vars: { conference_id: 'room 1' } });
    const c = client(await accepted);
    await new Promise((r) => setTimeout(r, 50));
    expect(c.raw()).toBe('');
    c.send('connect\n\n');
    const reply = await c.next(0);
    expect(reply.type).toBe('command/reply');
    const lines = c.raw().split('\n');
    expect(lines[0]).toBe('Event-Name: CHANNEL_DATA');
    // switch_event_serialize: every value URL-encoded, the reply headers appended last, then a blank line.
    expect(c.raw().endsWith('Content-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n')).toBe(true);
    expect(reply.headers['Unique-ID']).toBe(call.uuid);
    expect(reply.headers['Caller-Destination-Number']).toBe('5000');
    expect(urlDecode(reply.headers['Caller-Caller-ID-Name']!)).toBe('Ann Example');
    expect(reply.headers.variable_conference_id).toBe('room%201');
    call.hangup();
    await call.ended;
  });

  it('myevents, linger, sendmsg execute: +OK at once, then CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE naming the Event-UUID', async () => {
    const dialer = new OutboundDialer(sim.engine, { dialplan: { '5000': `127.0.0.1:${port} async full` }, playMs: 1, digitTimeoutMs: 1 });
    const call = dialer.dial('5000', { digits: ['12#', ''] });
    const c = client(await accepted);
    c.send('connect\n\n');
    await c.next(0);
    c.send('myevents\n\n');
    expect((await c.next(1)).headers['Reply-Text']).toBe('+OK Events Enabled');
    c.send('linger\n\n');
    expect((await c.next(2)).headers['Reply-Text']).toBe('+OK will linger');
    c.send('sendmsg\ncall-command: execute\nexecute-app-name: play_and_get_digits\nexecute-app-arg: 1 4 2 100 # tone_stream://%(10,0,440) silence_stream://10 pin ^[0-9]+$\nEvent-UUID: app-1\n\n');
    expect((await c.next(3)).headers['Reply-Text']).toBe('+OK');
    const done = await pollUntil('execute complete', () =>
      c.frames.filter(isEventFrame).map(decodeEvent).find((e) => e.name === 'CHANNEL_EXECUTE_COMPLETE'),
    );
    const events = c.frames.filter(isEventFrame).map(decodeEvent);
    expect(events[0]!.name).toBe('CHANNEL_EXECUTE');
    expect(events[0]!.headers['Application-UUID']).toBe('app-1');
    expect(events.filter((e) => e.name === 'DTMF').map((e) => e.headers['DTMF-Digit'])).toEqual(['1', '2', '#']);
    expect(done.headers.Application).toBe('play_and_get_digits');
    expect(done.headers['Application-UUID']).toBe('app-1');
    expect(done.headers.variable_pin).toBe('12');
    expect(done.headers.variable_read_result).toBe('success');

    // The next try keys nothing: the variable is gone, read_result says why.
    c.send('sendmsg\ncall-command: execute\nexecute-app-name: play_and_get_digits\nexecute-app-arg: 1 4 1 10 # silence_stream://10 silence_stream://10 pin ^[0-9]+$\nEvent-UUID: app-2\n\n');
    const second = await pollUntil('second complete', () =>
      c.frames.filter(isEventFrame).map(decodeEvent).find((e) => e.name === 'CHANNEL_EXECUTE_COMPLETE' && e.headers['Application-UUID'] === 'app-2'),
    );
    expect(second.headers.variable_pin).toBeUndefined();
    expect(second.headers.variable_read_result).toBe('failure');

    c.send('sendmsg\ncall-command: hangup\nhangup-cause: CALL_REJECTED\n\n');
    expect(await call.ended).toBe('CALL_REJECTED');
    const notice = await pollUntil('disconnect notice', () => c.frames.find((f) => f.type === 'text/disconnect-notice'));
    expect(notice.headers['Content-Disposition']).toBe('linger');
    expect(notice.headers['Controlled-Session-UUID']).toBe(call.uuid);
    const names = c.frames.filter(isEventFrame).map(decodeEvent).map((e) => e.name);
    expect(names.slice(-2)).toEqual(['CHANNEL_HANGUP', 'CHANNEL_HANGUP_COMPLETE']);
  });

  it('conference: flags in the join; the app completes when the member leaves; max-members refuses the next caller', async () => {
    const dialer = new OutboundDialer(sim.engine, { dialplan: { '5000': `127.0.0.1:${port} async full` }, playMs: 1 });
    const call = dialer.dial('5000', {});
    const c = client(await accepted);
    c.send('connect\n\nmyevents\n\n');
    await c.next(1);
    c.send('sendmsg\ncall-command: execute\nexecute-app-name: conference\nexecute-app-arg: r1@small+flags{mute|deaf}\nEvent-UUID: j1\n\n');
    const m = await pollUntil('member', () => sim.engine.conferences().find((x) => x.name === 'r1')?.members[0]);
    expect(m.callId).toBe(call.uuid);
    expect(m.canSpeak).toBe(false);
    expect(m.canHear).toBe(false);
    const add = await pollUntil('add-member on the socket', () => c.frames.filter(isEventFrame).map(decodeEvent).find((e) => e.headers.Action === 'add-member'));
    expect(add.headers.Speak).toBe('false');

    // A second caller: the profile admits one member.
    accepted = new Promise((resolve) => server.once('connection', resolve));
    const second = dialer.dial('5000', {});
    const c2 = client(await accepted);
    c2.send('connect\n\nmyevents\n\n');
    await c2.next(1);
    c2.send('sendmsg\ncall-command: execute\nexecute-app-name: conference\nexecute-app-arg: r1@small\nEvent-UUID: j2\n\n');
    await pollUntil('refused join completes', () => c2.frames.filter(isEventFrame).map(decodeEvent).find((e) => e.name === 'CHANNEL_EXECUTE_COMPLETE'));
    expect(sim.engine.conferences().find((x) => x.name === 'r1')?.members).toHaveLength(1);
    second.hangup();

    sim.engine.executeApi(`conference r1 kick ${m.id}`);
    const done = await pollUntil('join completes after the kick', () =>
      c.frames.filter(isEventFrame).map(decodeEvent).find((e) => e.name === 'CHANNEL_EXECUTE_COMPLETE' && e.headers['Application-UUID'] === 'j1'),
    );
    expect(done.headers.Application).toBe('conference');
    call.hangup();
    await Promise.all([call.ended, second.ended]);
  });
});
