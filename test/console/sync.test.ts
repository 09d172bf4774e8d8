/**
 * The console's sync (console/src/sync.ts) and WebSocket link (console/src/live.ts) with a fake API
 * and a fake socket: what is fetched when, what waits for a snapshot, how the token travels.
 */
import { describe, expect, it } from 'vitest';
import { ApiError, type ApiResult } from '../../console/src/api.js';
import { LiveLink, type LinkState, type SocketLike } from '../../console/src/live.js';
import { ConsoleStore } from '../../console/src/store.js';
import { ConferenceSync } from '../../console/src/sync.js';
import type { ApiConference, ApiConferenceListEntry } from '../../console/src/types.js';

function deferred<T>() {
  let resolve!: (v: T) => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<T>((a, b) => ((resolve = a), (reject = b)));
  return { promise, resolve, reject };
}

const result = <T>(data: T): ApiResult<T> => ({ data, status: 200, requestId: 'r' });
const view = (id: string, ids: number[]): ApiConference => ({
  id,
  focus: 'vm',
  _read_only: {
    members: ids.length,
    admins: 0,
    duration: 5,
    is_locked: false,
    participants: ids.map((n) => ({ participant_id: n, call_id: `c${n}`, is_moderator: false, speak: true, hear: true, talking: false, duration: 1 })),
  },
});
const ev = (event: string, conference: string, id: number, over: Record<string, unknown> = {}) => ({
  event,
  conference_id: conference,
  event_name: 'participant_event',
  participant_id: id,
  speak: true,
  hear: true,
  talking: false,
  ...over,
});

class FakeApi {
  list = deferred<ApiResult<ApiConferenceListEntry[]>>();
  readonly requests: string[] = [];
  readonly pending = new Map<string, ReturnType<typeof deferred<ApiResult<ApiConference>>>>();
  conferences() {
    this.requests.push('list');
    return this.list.promise;
  }
  conference(id: string) {
    this.requests.push(id);
    const d = deferred<ApiResult<ApiConference>>();
    this.pending.set(id, d);
    return d.promise;
  }
}

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('ConferenceSync', () => {
  it('reloads the running conferences (not idle documents); events wait for their snapshot and apply in order', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api, now: () => 1000 });
    const done = sync.reloadAll();
    sync.onEvent(ev('start-talking', 'a', 1), 900); // during the list request
    api.list.resolve(result([
      { id: 'a', members: 1, admins: 0, duration: 5, is_locked: false },
      { id: 'idle-doc', members: 0, admins: 0, duration: 0, is_locked: false },
    ]));
    await tick();
    expect(api.requests).toEqual(['list', 'a']);
    sync.onEvent(ev('add-member', 'a', 2), 950);
    sync.onEvent(ev('mute-member', 'a', 2, { speak: false }), 960);
    expect(store.has('a')).toBe(false);
    api.pending.get('a')!.resolve(result(view('a', [1])));
    await done;
    const a = store.conference('a')!;
    expect([...a.participants.keys()]).toEqual([1, 2]);
    expect(a.participants.get(1)?.talking).toBe(true);
    expect(a.participants.get(2)).toMatchObject({ speak: false, joinedAt: 950 });
    expect(store.log('a').map((e) => e.event)).toEqual(['start-talking', 'add-member', 'mute-member']);
  });

  it('fetches a conference it hears of for the first time, once, and one that shows a member it never saw', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api });
    sync.onEvent(ev('add-member', 'new', 1), 1);
    sync.onEvent(ev('add-member', 'new', 2), 2);
    expect(api.requests).toEqual(['new']);
    api.pending.get('new')!.resolve(result(view('new', [1])));
    await tick();
    expect([...store.conference('new')!.participants.keys()]).toEqual([1, 2]);
    sync.onEvent(ev('unmute-member', 'new', 9), 3); // member 9: never seen
    expect(api.requests).toEqual(['new', 'new']);
    api.pending.get('new')!.resolve(result(view('new', [1, 2, 9])));
    await tick();
    expect(store.conference('new')!.participants.get(9)?.joinedAt).toBeDefined();
  });

  it('drops a conference the API no longer shows (404) and reports other failures', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const errors: Array<string | undefined> = [];
    const sync = new ConferenceSync({ store, api, onError: (m) => errors.push(m) });
    store.setSnapshot(view('gone', [1]), 0);
    void sync.reload('gone');
    api.pending.get('gone')!.reject(new ApiError(404, 'NOT_FOUND', 'conference gone not found'));
    await tick();
    expect(store.has('gone')).toBe(false);
    void sync.reload('x');
    api.pending.get('x')!.reject(new ApiError(503, 'NODE_DOWN', 'node fs1 is down'));
    await tick();
    expect(errors).toEqual(['could not load conference x: node fs1 is down [NODE_DOWN]']);
  });

  // A conference that ends and starts again under the same name while its snapshot is fetched (the
  // demo's live room after its script): the events that waited speak of the new one after the old
  // one's destroy, so the snapshot in hand cannot be the last word.
  const conferenceEvent = (event: string, conference: string) => ({ event, conference_id: conference, event_name: 'conference_event' });
  const endAndRestart = (sync: ConferenceSync) => {
    sync.onEvent(ev('add-member', 'room', 1), 2);
    sync.onEvent(ev('del-member', 'room', 1), 3);
    sync.onEvent(conferenceEvent('conference-destroy', 'room'), 4);
    sync.onEvent(conferenceEvent('conference-create', 'room'), 5);
    for (const n of [2, 3, 4]) sync.onEvent(ev('add-member', 'room', n), 5 + n);
  };

  it('fetches again a conference that ended and started again while its snapshot was fetched', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api });
    sync.onEvent(conferenceEvent('conference-create', 'room'), 1);
    endAndRestart(sync);
    expect(api.requests).toEqual(['room']);
    // Taken before the old one ended: replayed, its destroy leaves the new one's events nothing to apply to.
    api.pending.get('room')!.resolve(result(view('room', [1])));
    await tick();
    expect(api.requests).toEqual(['room', 'room']);
    sync.onEvent(ev('start-talking', 'room', 2), 20); // waits for the second snapshot
    api.pending.get('room')!.resolve(result(view('room', [2, 3, 4])));
    await tick();
    const room = store.conference('room')!;
    expect([...room.participants.keys()]).toEqual([2, 3, 4]);
    expect(room.participants.get(2)?.talking).toBe(true);
    expect(api.requests).toEqual(['room', 'room']);
  });

  it('fetches again after a 404 when the events that waited show the conference running again', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api });
    sync.onEvent(conferenceEvent('conference-create', 'room'), 1);
    endAndRestart(sync);
    // Asked between the old one's end and the new one's start.
    api.pending.get('room')!.reject(new ApiError(404, 'NOT_FOUND', 'conference room not found'));
    await tick();
    expect(api.requests).toEqual(['room', 'room']);
    api.pending.get('room')!.resolve(result(view('room', [2, 3, 4])));
    await tick();
    expect([...store.conference('room')!.participants.keys()]).toEqual([2, 3, 4]);
  });

  it('a full reload does not fetch a second time a conference already being fetched: it fetches it again after', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api });
    sync.onEvent(ev('add-member', 'a', 1), 1);
    const done = sync.reloadAll(); // subscribed again (a reconnect) while 'a' is fetched
    api.list.resolve(result([{ id: 'a', members: 1, admins: 0, duration: 5, is_locked: false }]));
    await tick();
    expect(api.requests).toEqual(['a', 'list']);
    sync.onEvent(ev('add-member', 'a', 2), 2);
    api.pending.get('a')!.resolve(result(view('a', [1])));
    await tick();
    expect(api.requests).toEqual(['a', 'list', 'a']);
    sync.onEvent(ev('add-member', 'a', 3), 3); // waits for that snapshot, taken before member 3 joined
    api.pending.get('a')!.resolve(result(view('a', [1, 2])));
    await done;
    await tick();
    expect([...store.conference('a')!.participants.keys()]).toEqual([1, 2, 3]);
    expect(api.requests).toEqual(['a', 'list', 'a']);
  });

  it('does not fetch again a conference whose waiting events end with its destroy', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const sync = new ConferenceSync({ store, api });
    sync.onEvent(ev('start-talking', 'gone', 1), 1);
    sync.onEvent(ev('del-member', 'gone', 1), 2);
    sync.onEvent(conferenceEvent('conference-destroy', 'gone'), 3);
    api.pending.get('gone')!.reject(new ApiError(404, 'NOT_FOUND', 'conference gone not found'));
    await tick();
    expect(store.has('gone')).toBe(false);
    expect(api.requests).toEqual(['gone']);
  });

  it('does not fetch again for the event that asked for the snapshot (the snapshot was taken after it)', async () => {
    const api = new FakeApi();
    const store = new ConsoleStore(() => undefined);
    const errors: Array<string | undefined> = [];
    const sync = new ConferenceSync({ store, api, onError: (m) => errors.push(m) });
    sync.onEvent(ev('start-talking', 'other', 1), 1);
    api.pending.get('other')!.reject(new ApiError(404, 'NOT_FOUND', 'conference other not found'));
    sync.onEvent(ev('start-talking', 'down', 1), 1);
    api.pending.get('down')!.reject(new ApiError(503, 'NODE_DOWN', 'node fs1 is down'));
    await tick();
    expect(api.requests).toEqual(['other', 'down']);
    expect(errors).toEqual(['could not load conference down: node fs1 is down [NODE_DOWN]']);
  });
});

class FakeSocket implements SocketLike {
  sent: Array<Record<string, unknown>> = [];
  closed: number | undefined;
  onopen: SocketLike['onopen'] = null;
  onmessage: SocketLike['onmessage'] = null;
  onclose: SocketLike['onclose'] = null;
  onerror: SocketLike['onerror'] = null;
  constructor(readonly url: string) {}
  send(data: string) {
    this.sent.push(JSON.parse(data) as Record<string, unknown>);
  }
  close(code = 1000) {
    this.closed = code;
  }
  reply(msg: Record<string, unknown>) {
    this.onmessage?.({ data: JSON.stringify(msg) });
  }
}

function link(token: string) {
  const sockets: FakeSocket[] = [];
  const states: LinkState[] = [];
  const events: unknown[] = [];
  const ready: string[] = [];
  const timers: Array<{ fn: () => void; ms: number }> = [];
  const l = new LiveLink({
    url: 'ws://h/v2/websocket',
    token,
    openSocket: (url) => {
      const s = new FakeSocket(url);
      sockets.push(s);
      return s;
    },
    onState: (s) => states.push(s),
    onEvent: (e) => events.push(e),
    onReady: (a) => ready.push(a),
    setTimer: (fn, ms) => timers.push({ fn, ms }),
    clearTimer: () => undefined,
  });
  return { l, sockets, states, events, ready, timers };
}

describe('LiveLink', () => {
  it('sends the token in the first message (never the URL), subscribes to the account, passes events on', () => {
    const t = link('secret-token-123456');
    t.l.start();
    const s = t.sockets[0]!;
    expect(s.url).toBe('ws://h/v2/websocket');
    s.onopen?.({});
    expect(s.sent).toEqual([{ action: 'auth', request_id: 'auth', auth_token: 'secret-token-123456' }]);
    s.reply({ action: 'reply', status: 'success', request_id: 'auth', data: { account_id: 'acme' } });
    expect(s.sent[1]).toEqual({ action: 'subscribe', request_id: 'subscribe', account_id: 'acme' });
    s.reply({ action: 'reply', status: 'success', request_id: 'subscribe', data: { account_id: 'acme' } });
    expect(t.ready).toEqual(['acme']);
    expect(t.states.at(-1)).toEqual({ kind: 'live', account: 'acme' });
    s.reply({ event: 'start-talking', conference_id: 'a', participant_id: 1 });
    expect(t.events).toHaveLength(1);
  });

  it('a refused token ends the link without retrying', () => {
    const t = link('wrong-token-000000');
    t.l.start();
    t.sockets[0]!.onopen?.({});
    t.sockets[0]!.reply({ action: 'reply', status: 'error', request_id: 'auth', error: '401', message: 'invalid X-Auth-Token' });
    expect(t.states.at(-1)).toEqual({ kind: 'refused', message: 'invalid X-Auth-Token' });
    expect(t.timers).toEqual([]);
  });

  it('reconnects with backoff after a drop and subscribes again (the caller then reloads)', () => {
    const t = link('secret-token-123456');
    t.l.start();
    const first = t.sockets[0]!;
    first.onopen?.({});
    first.reply({ action: 'reply', status: 'success', request_id: 'auth', data: { account_id: 'acme' } });
    first.reply({ action: 'reply', status: 'success', request_id: 'subscribe', data: { account_id: 'acme' } });
    first.onclose?.({ code: 1006, reason: '' });
    expect(t.states.at(-1)).toEqual({ kind: 'reconnecting', reason: 'connection closed (1006)', retryInMs: 500 });
    t.timers.shift()!.fn();
    const second = t.sockets[1]!;
    second.onclose?.({ code: 1006, reason: '' });
    expect(t.timers[0]?.ms).toBe(1000);
    t.timers.shift()!.fn();
    const third = t.sockets[2]!;
    third.onopen?.({});
    third.reply({ action: 'reply', status: 'success', request_id: 'auth', data: { account_id: 'acme' } });
    third.reply({ action: 'reply', status: 'success', request_id: 'subscribe', data: { account_id: 'acme' } });
    expect(t.ready).toEqual(['acme', 'acme']);
    t.l.stop();
    expect(third.closed).toBe(1000);
  });
});
