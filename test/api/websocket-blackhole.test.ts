/**
 * Kazoo blackhole's socket protocol for conference bindings, over a real listening socket: a client
 * subscribes with `{"action":"subscribe","auth_token":…,"request_id":…,"data":{"binding":…}}` (or
 * `bindings`), gets blackhole's reply (`{"action":"reply","request_id","status","data":{"subscribed":[…]}}`)
 * and events in blackhole_data_emitter's envelope (`action: event`, `subscribed_key`, `name`,
 * `routing_key`, `data`); unsupported bindings are refused with an error reply, never widened.
 */
import { describe, expect, it } from 'vitest';
import { ACCOUNT_B as B, TOKEN_A } from '../helpers/api-fakes.js';
import { registry, events, api, Client, ev, useWebSocketApi } from '../helpers/websocket-rig.js';

useWebSocketApi();

describe('blackhole protocol: conference bindings', () => {
  it('subscribes to one conference\'s binding, receives only its events, unsubscribes, receives nothing', async () => {
    const c = await Client.open();
    const sub = await c.request({ action: 'subscribe', auth_token: TOKEN_A, request_id: 'bh-1', data: { binding: 'conference.event.room.*' } });
    expect(sub).toEqual({ action: 'reply', request_id: 'bh-1', status: 'success', data: { subscribed: ['conference.event.room.*'] } });

    const mine = ev('add-member', 'room', 'call-1', 1);
    events.emit(ev('add-member', 'other', 'call-2', 2)); // same account, another conference
    events.emit(mine);
    await api.idle();
    const got = await c.next();
    expect(got).toEqual({
      action: 'event',
      subscribed_key: 'conference.event.room.*',
      subscription_key: 'conference.event.room.*',
      name: 'add-member',
      routing_key: 'conference.event.room.call-1',
      data: mine.payload,
    });
    expect(c.messages).toEqual([]);

    const un = await c.request({ action: 'unsubscribe', request_id: 'bh-2', data: { binding: 'conference.event.room.*' } });
    expect(un).toEqual({ action: 'reply', request_id: 'bh-2', status: 'success', data: { unsubscribed: ['conference.event.room.*'], subscribed: [] } });
    events.emit(ev('del-member', 'room', 'call-1', 1));
    await api.idle();
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages).toEqual([]);
  });

  it('a call id binding narrows to that call; `bindings` subscribes several; the account still scopes everything', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    const sub = await c.request({ action: 'subscribe', request_id: 2, data: { bindings: ['conference.event.room.call-1', 'conference.event.*.call-7'] } });
    expect(sub.data.subscribed).toEqual(['conference.event.room.call-1', 'conference.event.*.call-7']);
    events.emit(ev('mute-member', 'room', 'call-2', 2)); // other call
    events.emit(ev('mute-member', 'broom', 'call-7', 7, B)); // another account's conference: the call id matches, the account does not
    const one = ev('mute-member', 'room', 'call-1', 1);
    events.emit(one);
    await api.idle();
    expect(await c.next()).toMatchObject({ name: 'mute-member', subscribed_key: 'conference.event.room.call-1', data: one.payload });
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages).toEqual([]);
  });

  it('an unsupported binding gets an error reply naming it, and nothing is subscribed (never widened)', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    for (const binding of ['call.CHANNEL_CREATE.*', 'conference.event.#', 'conference.command.room', 'conference.event.ro*m.*', 'conference.*.*.*']) {
      const r = await c.request({ action: 'subscribe', request_id: binding, data: { binding } });
      expect(r, binding).toMatchObject({ action: 'reply', request_id: binding, status: 'error', error: '400' });
      expect(r.message, binding).toMatch(/Unsupported binding/);
    }
    const mixed = await c.request({ action: 'subscribe', request_id: 'mixed', data: { bindings: ['conference.event.room.*', 'qubicle.*'] } });
    expect(mixed).toMatchObject({ status: 'error' });
    events.emit(ev('add-member', 'room', 'call-1', 1));
    await api.idle();
    await new Promise((r) => setTimeout(r, 100));
    expect(c.messages).toEqual([]);
  });

  it('refuses another account (data.account_id) and another account\'s conference', async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    expect(await c.request({ action: 'subscribe', data: { binding: 'conference.event.*.*', account_id: B } })).toMatchObject({ status: 'error', error: '403' });
    registry.join('theirs', { participant_id: 1, call_id: 'x1', custom_channel_vars: { account_id: B } } as never);
    expect(await c.request({ action: 'subscribe', data: { binding: 'conference.event.theirs.*' } })).toMatchObject({ status: 'error', error: '403' });
  });

  it("today's protocol keeps working on the same socket", async () => {
    const c = await Client.open({ 'x-auth-token': TOKEN_A });
    await c.request({ action: 'subscribe', data: { binding: 'conference.event.room.*' } });
    const own = await c.request({ action: 'subscribe', conference_id: 'other' });
    expect(own).toMatchObject({ status: 'success', data: { conference_id: 'other' } });
    const e = ev('add-member', 'other', 'call-3', 3);
    events.emit(e);
    await api.idle();
    expect(await c.next()).toEqual(e.payload);
  });
});
