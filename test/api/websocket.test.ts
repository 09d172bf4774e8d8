/**
 * WebSocket end to end over a real listening socket with a `ws` client (fake registry / events):
 * subscribe protocol, account and conference scopes, the publish filter and event subsets, auth.
 */
import WebSocket from 'ws';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, participantEvent } from '../helpers/api-fakes.js';
import { app, events, api, url, sockets, Client, ev, useWebSocketApi } from '../helpers/websocket-rig.js';

useWebSocketApi();

describe('websocket participant events', () => {
  it('an account subscription receives the AMQP payload of its conferences only, filtered', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    const sub = await c.request({ action: 'subscribe', account_id: A, request_id: 'r1' });
    expect(sub).toMatchObject({ action: 'reply', status: 'success', request_id: 'r1', data: { account_id: A, conference_id: null, events: null } });

    const e1 = ev('add-member', 'room', 'call-1', 1);
    events.emit(ev('add-member', 'broom', 'call-9', 9, B)); // another account
    events.emit(ev('start-talking', 'room', 'call-1', 1)); // filtered out by publish_participant_event
    events.emit(e1);
    await api.idle();
    const got = await c.next();
    expect(got).toEqual(e1.payload);
    expect(JSON.stringify(got)).toBe(JSON.stringify(e1.payload));
    expect(c.messages).toEqual([]);
  });

  it('a conference subscription with an events subset; auth in the first message; unsubscribe', async () => {
    await app.inject({ method: 'PUT', url: `/v2/accounts/${A}/conferences`, headers: { 'x-auth-token': TOKEN_A }, payload: { data: { id: 'room' } } });
    const c = await Client.open();
    const unauth = await c.request({ action: 'subscribe', conference_id: 'room' });
    expect(unauth).toMatchObject({ status: 'error', error: '401' });
    expect(api.websocket.listening).toBe(0); // connected, but nobody listens yet (what `confmgr demo --console` waits for)
    const sub = await c.request({ action: 'subscribe', auth_token: TOKEN_A, conference_id: 'room', events: ['del-member'] });
    expect(sub.status).toBe('success');
    expect(api.websocket.listening).toBe(1);
    // Document owned by A: the event's own channel vars do not matter.
    events.emit(participantEvent('add-member', 'room', 'x', 1));
    events.emit(participantEvent('add-member', 'other', 'y', 2, { custom_channel_vars: { account_id: A } }));
    events.emit(participantEvent('del-member', 'room', 'x', 1));
    await api.idle();
    expect((await c.next()).event).toBe('del-member');
    expect(c.messages).toEqual([]);

    const un = await c.request({ action: 'unsubscribe', subscription: sub.data.subscription });
    expect(un).toMatchObject({ status: 'success', data: { removed: 1 } });
    expect(api.websocket.listening).toBe(0);
    events.emit(participantEvent('del-member', 'room', 'z', 3));
    await api.idle();
    const pong = await c.request({ action: 'ping' });
    expect(pong.data).toEqual({ pong: true });
  });

  it('refuses another account and bad requests, naming the field', async () => {
    await app.inject({ method: 'PUT', url: `/v2/accounts/${B}/conferences`, headers: { 'x-auth-token': TOKEN_B }, payload: { data: { id: 'bconf' } } });
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    expect(await c.request({ action: 'subscribe', account_id: B })).toMatchObject({ status: 'error', error: '403' });
    expect(await c.request({ action: 'subscribe', conference_id: 'bconf' })).toMatchObject({ status: 'error', error: '403' });
    expect((await c.request({ action: 'subscribe', conference_id: 'bad name' })).data.conference_id).toBeDefined();
    expect((await c.request({ action: 'subscribe', events: 'add-member' })).data.events).toBeDefined();
    expect((await c.request({ action: 'dance' })).data.action).toBeDefined();
    c.ws.send('not json');
    expect((await c.next()).data.message).toBeDefined();
    expect(await c.request({ action: 'auth', auth_token: 'wrong' })).toMatchObject({ status: 'error', error: '401' });
  });

  it("a caller naming another account does not bring that account the events of a running conference", async () => {
    const a = await Client.open({ 'x-auth-token': TOKEN_A });
    const b = await Client.open({ 'x-auth-token': TOKEN_B });
    await a.request({ action: 'subscribe' });
    await b.request({ action: 'subscribe' });
    events.emit(ev('add-member', 'room', 'a-call', 1, A));
    events.emit(ev('add-member', 'room', 'b-call', 2, B));
    events.emit(ev('mute-member', 'room', 'b-call', 2, B));
    await api.idle();
    expect((await a.next()).call_id).toBe('a-call');
    expect((await a.next()).call_id).toBe('b-call');
    expect((await a.next()).event).toBe('mute-member');
    // Everything delivered was sent before this ping: its reply is B's first message.
    expect(await b.request({ action: 'ping' })).toMatchObject({ data: { pong: true } });
    expect(b.messages).toEqual([]);
  });

  it('a burst reaches the socket complete and in order, across several writes, before the reply to a later request', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    await c.request({ action: 'subscribe' });
    // Far more than one write's worth; a multi-byte name; one event over 64 KiB (a frame's longest length form).
    const sent = Array.from({ length: 1500 }, (_, i) => {
      const e = ev('mute-member', 'room', `call-${i}`, i + 1);
      e.payload.caller_id_name = i === 7 ? 'Zoë 日本 😀' : 'x'.repeat(i === 700 ? 70_000 : 300);
      return e;
    });
    for (const e of sent) events.emit(e);
    // No idle(): the request is answered after every event handled before it.
    c.ws.send(JSON.stringify({ action: 'ping', request_id: 'after' }));
    for (const e of sent) expect(await c.next()).toEqual(e.payload);
    expect(await c.next()).toMatchObject({ action: 'reply', request_id: 'after', data: { pong: true } });
    expect(c.messages).toEqual([]);
  });

  it('a client that does not read is disconnected once its unsent bytes pass the bound', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    await c.request({ action: 'subscribe' });
    (c.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    const big = 'x'.repeat(100_000);
    for (let i = 0; i < 400 && api.websocket.size > 0; i++) {
      const e = ev('mute-member', 'room', `call-${i}`, i + 1);
      e.payload.caller_id_name = big;
      events.emit(e);
      await api.idle();
      await new Promise((r) => setImmediate(r));
    }
    expect(api.websocket.size).toBe(0);
  });

  it('a wrong token on the upgrade request is refused with 401', async () => {
    const ws = new WebSocket(url, { headers: { 'x-auth-token': 'wrong' } });
    sockets.push(ws);
    const status = await new Promise<number>((resolve) => {
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => resolve(-1));
    });
    expect(status).toBe(401);
  });

  it('every socket gets each event once, and closed sockets are forgotten', async () => {
    const c1 = await Client.open({ 'x-auth-token': TOKEN_A });
    const c2 = await Client.open({ 'x-auth-token': TOKEN_A });
    await c1.request({ action: 'subscribe' });
    await c1.request({ action: 'subscribe', conference_id: 'room' });
    await c2.request({ action: 'subscribe', conference_id: 'room' });
    events.emit(ev('mute-member', 'room', 'call-1', 1));
    await api.idle();
    expect((await c1.next()).event).toBe('mute-member');
    expect((await c2.next()).event).toBe('mute-member');
    await new Promise((r) => setTimeout(r, 50));
    expect(c1.messages).toEqual([]);
    c2.ws.close();
    await new Promise<void>((r) => c2.ws.once('close', () => r()));
    const deadline = Date.now() + 5000;
    while (api.websocket.size !== 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(api.websocket.size).toBe(1);
  });
});
