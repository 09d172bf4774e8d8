/**
 * One call handed to confmgr by FreeSWITCH's `socket` application: the client side of the outbound
 * Event Socket. Commands are answered in order (`command/reply`); the channel's events arrive in
 * between (after `myevents`). `execute` resolves with the CHANNEL_EXECUTE_COMPLETE whose
 * `Application-UUID` is the one it sent; a hangup or a closed socket rejects whatever waits with
 * CallEndedError.
 */
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import { EslParser, decodeEvent, isEventFrame, urlDecode, type EslEvent, type EslFrame } from '../esl/index.js';
import { CallEndedError, EntryProtocolError, EntryTimeoutError } from './errors.js';
import { outbound } from './outbound-commands.js';

interface Waiter<T> {
  resolve(value: T): void;
  reject(err: Error): void;
}

export class OutboundSession {
  private readonly parser = new EslParser();
  /** Replies expected, in the order their commands went out. */
  private readonly replies: Array<Waiter<EslFrame>> = [];
  private readonly executions = new Map<string, Waiter<EslEvent>>();
  private ended: CallEndedError | undefined;
  private callId: string | undefined;
  private hangupCause: string | undefined;
  private readonly endListeners = new Set<(err: CallEndedError) => void>();

  constructor(
    private readonly socket: Socket,
    private readonly timeoutMs = 10_000,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => this.end());
  }

  /** True once the call hung up or the socket closed. */
  get isEnded(): boolean {
    return this.ended !== undefined;
  }

  /** Called once when the call ends (hangup or socket closed). */
  onEnd(listener: (err: CallEndedError) => void): void {
    this.endListeners.add(listener);
  }

  /** `connect`: the channel's data, headers URL-decoded (the reply serializes them as an event). */
  async connect(): Promise<Record<string, string>> {
    const reply = await this.command(outbound.connect(), 'connect');
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(reply.headers)) data[k] = urlDecode(v);
    if (!data['Reply-Text']?.startsWith('+OK')) throw new EntryProtocolError('connect refused', { reply: data['Reply-Text'] });
    this.callId = data['Unique-ID'];
    return data;
  }

  async myevents(): Promise<void> {
    await this.expectOk(outbound.myevents(), 'myevents');
  }

  async linger(): Promise<void> {
    await this.expectOk(outbound.linger(), 'linger');
  }

  /** `api <command>` on this socket: resolves with the api/response body, whatever it says. */
  async api(command: string): Promise<string> {
    const reply = await this.command(outbound.api(command), 'api');
    return reply.body;
  }

  /** Runs a dialplan application; resolves with its CHANNEL_EXECUTE_COMPLETE event. */
  async execute(app: string, arg = '', timeoutMs?: number): Promise<EslEvent> {
    if (this.ended) throw this.ended;
    const id = randomUUID();
    const done = new Promise<EslEvent>((resolve, reject) => this.executions.set(id, { resolve, reject }));
    let timer: NodeJS.Timeout | undefined;
    try {
      await this.expectOk(outbound.execute(app, arg, id), `execute ${app}`);
      if (timeoutMs === undefined) return await done;
      return await Promise.race([
        done,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new EntryTimeoutError(`execute ${app}`, timeoutMs)), timeoutMs);
        }),
      ]);
    } finally {
      if (timer) clearTimeout(timer);
      this.executions.delete(id);
    }
  }

  /** Hangs the call up with `cause`; never throws (a call already gone is what we wanted). */
  async hangup(cause: string): Promise<void> {
    if (this.ended) return;
    try {
      await this.expectOk(outbound.hangup(cause), 'hangup');
    } catch {
      // Gone already.
    }
  }

  /** Closes the socket (after the flow is done; FreeSWITCH closes it too after lingering). */
  close(): void {
    this.socket.end();
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private async expectOk(bytes: Buffer, what: string): Promise<void> {
    const reply = await this.command(bytes, what);
    const text = reply.headers['Reply-Text'] ?? '';
    if (!text.startsWith('+OK')) throw new EntryProtocolError(`${what}: ${text}`, { what, reply: text });
  }

  private command(bytes: Buffer, what: string): Promise<EslFrame> {
    if (this.ended) return Promise.reject(this.ended);
    return new Promise<EslFrame>((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.replies.indexOf(waiter);
        // The reply may still come: keep the slot so later replies still match their commands.
        if (i >= 0) this.replies[i] = { resolve: () => undefined, reject: () => undefined };
        reject(new EntryTimeoutError(what, this.timeoutMs));
      }, this.timeoutMs);
      const waiter: Waiter<EslFrame> = {
        resolve: (f) => {
          clearTimeout(timer);
          resolve(f);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      };
      this.replies.push(waiter);
      this.socket.write(bytes);
    });
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.feed(chunk, (frame) => this.onFrame(frame));
    } catch {
      this.socket.destroy();
    }
  }

  private onFrame(frame: EslFrame): void {
    if (frame.type === 'command/reply' || frame.type === 'api/response') {
      this.replies.shift()?.resolve(frame);
      return;
    }
    if (frame.type === 'text/disconnect-notice') {
      this.end();
      return;
    }
    if (!isEventFrame(frame)) return;
    const event = decodeEvent(frame);
    if (event.name === 'CHANNEL_EXECUTE_COMPLETE') {
      const id = event.headers['Application-UUID'];
      if (id !== undefined) this.executions.get(id)?.resolve(event);
    } else if (event.name === 'CHANNEL_HANGUP') {
      this.hangupCause = event.headers['Hangup-Cause'];
      this.end();
    }
  }

  private end(): void {
    if (this.ended) return;
    this.ended = new CallEndedError(this.callId, this.hangupCause);
    for (const w of this.replies.splice(0)) w.reject(this.ended);
    for (const w of this.executions.values()) w.reject(this.ended);
    this.executions.clear();
    for (const l of this.endListeners) l(this.ended);
  }
}
