/**
 * The WebSocket to `/v2/websocket` (src/api/README.md): authenticate with the token in the first
 * message (browsers cannot set headers on a WebSocket; the token never goes into the URL), subscribe
 * to every event of the token's account, hand events over as they come. A dropped socket is
 * reconnected with backoff; each successful subscription calls `onReady`, after which the caller
 * reloads its snapshot (events missed while away are not replayed by the server).
 */
import type { EventPayload } from './types.js';

export interface SocketLike {
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type LinkState =
  | { kind: 'connecting' }
  | { kind: 'live'; account: string }
  | { kind: 'reconnecting'; reason: string; retryInMs: number }
  /** The token was refused: no retry. */
  | { kind: 'refused'; message: string };

export interface LiveLinkOptions {
  url: string;
  token: string;
  openSocket: (url: string) => SocketLike;
  onState: (state: LinkState) => void;
  onEvent: (event: EventPayload, receivedAt: number) => void;
  /** Subscribed (again): events flow from now on. */
  onReady: (account: string) => void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
}

const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

export class LiveLink {
  private socket: SocketLike | undefined;
  private stopped = false;
  private failures = 0;
  private timer: unknown;

  constructor(private readonly o: LiveLinkOptions) {}

  start(): void {
    this.stopped = false;
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) (this.o.clearTimer ?? clearTimeout)(this.timer as ReturnType<typeof setTimeout>);
    this.timer = undefined;
    const s = this.socket;
    this.socket = undefined;
    if (s) {
      s.onclose = null;
      s.onmessage = null;
      s.close(1000, 'signed out');
    }
  }

  private connect(): void {
    this.o.onState({ kind: 'connecting' });
    let socket: SocketLike;
    try {
      socket = this.o.openSocket(this.o.url);
    } catch (err) {
      this.retry(`cannot open the WebSocket (${(err as Error).message})`);
      return;
    }
    this.socket = socket;
    socket.onopen = () => socket.send(JSON.stringify({ action: 'auth', request_id: 'auth', auth_token: this.o.token }));
    socket.onmessage = (ev) => this.onMessage(socket, ev.data);
    socket.onerror = () => undefined; // the close that follows says what happened
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = undefined;
      this.retry(ev.code === 1013 ? 'the console fell behind the event stream' : `connection closed (${ev.code}${ev.reason ? ` ${ev.reason}` : ''})`);
    };
  }

  private onMessage(socket: SocketLike, data: unknown): void {
    if (typeof data !== 'string') return;
    const at = (this.o.now ?? Date.now)();
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(data) as Record<string, unknown>;
    } catch {
      return;
    }
    if (msg.action !== 'reply') {
      this.o.onEvent(msg as EventPayload, at);
      return;
    }
    const ok = msg.status === 'success';
    const body = (msg.data ?? {}) as Record<string, unknown>;
    if (msg.request_id === 'auth') {
      if (!ok) {
        const message = typeof msg.message === 'string' ? msg.message : 'the token was refused';
        if (msg.error === '401') {
          this.stopped = true;
          socket.onclose = null;
          socket.close(1000, 'refused');
          this.socket = undefined;
          this.o.onState({ kind: 'refused', message });
        } else socket.close(4000, message);
        return;
      }
      socket.send(JSON.stringify({ action: 'subscribe', request_id: 'subscribe', account_id: body.account_id }));
    } else if (msg.request_id === 'subscribe') {
      if (!ok) {
        socket.close(4000, typeof msg.message === 'string' ? msg.message : 'subscribe refused');
        return;
      }
      this.failures = 0;
      const account = String(body.account_id);
      this.o.onState({ kind: 'live', account });
      this.o.onReady(account);
    }
  }

  private retry(reason: string): void {
    if (this.stopped) return;
    const ms = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)]!;
    this.failures++;
    this.o.onState({ kind: 'reconnecting', reason, retryInMs: ms });
    this.timer = (this.o.setTimer ?? setTimeout)(() => {
      this.timer = undefined;
      if (!this.stopped) this.connect();
    }, ms);
  }
}
