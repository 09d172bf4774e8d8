/**
 * FreeSWITCH's outbound Event Socket, played by the simulator: a call arrives, the simulator's own
 * dialplan maps its destination number to `socket HOST:PORT async full`, and the simulator connects
 * to that address as mod_event_socket's socket application does. Then, per mod_event_socket.c:
 *  - nothing is sent until the client's first command, `connect`; its reply is the channel's data
 *    serialized as an event (`switch_event_serialize`, values URL-encoded) followed by
 *    `Content-Type: command/reply`, `Reply-Text: +OK\n` (encoded), `Socket-Mode`, `Control`;
 *  - `myevents` subscribes the socket to every event of this channel (plain format);
 *    `linger` keeps the socket open after hangup until the events are out;
 *  - `sendmsg` with `call-command: execute` queues a dialplan application (async mode: the reply
 *    `+OK` comes at once; CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE follow, both carrying
 *    `Application`, `Application-Data`, `Application-UUID` = the message's `Event-UUID`, and the
 *    channel variables); `call-command: hangup` with `hangup-cause` hangs up;
 *  - at hangup: CHANNEL_HANGUP, CHANNEL_HANGUP_COMPLETE, then a `text/disconnect-notice` with
 *    `Content-Disposition: linger` (or `disconnect`), and the socket is closed.
 * Applications: answer, set, playback, record, sleep, play_and_get_digits (switch_ivr_play_and_get_digits: each
 * try plays the prompt and reads digits up to a terminator, a timeout or `max`; a try whose digits
 * are fewer than `min` or fail the regexp plays the invalid file; the variable holds the digits of
 * the last try, unset when there were none), conference (`NAME@PROFILE+flags{mute|deaf|moderator}`;
 * refused with the profile's locked / max-members sound when locked or full) and hangup.
 * The caller's key presses come from the test: `digits`, one entry per try ('' = keys nothing).
 */
import { randomUUID } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { byteLength, encodeFrame, urlEncode } from '../esl/index.js';
import type { ConferenceEngine } from './engine.js';
import { SimulatorInvalidArgumentError, SimulatorNotFoundError, SimulatorStateError } from './errors.js';
import type { CallingSite, Header, SimEvent } from './event.js';
import { apiResponse, commandReply } from './frames.js';
import { BUILTIN_PROFILE } from './model.js';
import { playDurationMs } from './tones.js';

/** Calling sites of the channel events (file and function from FreeSWITCH's source; line numbers approximate). */
const CHANNEL_SITES = {
  data: ['mod_event_socket.c', 'parse_command', 1900],
  execute: ['switch_core_session.c', 'switch_core_session_exec', 2950],
  executeComplete: ['switch_core_session.c', 'switch_core_session_exec', 3000],
  answer: ['switch_channel.c', 'switch_channel_perform_mark_answered', 3700],
  hangup: ['switch_channel.c', 'switch_channel_perform_hangup', 3500],
  hangupComplete: ['switch_core_state_machine.c', 'switch_core_session_reporting_state', 880],
  dtmf: ['switch_channel.c', 'switch_channel_dequeue_dtmf', 600],
} as const satisfies Record<string, CallingSite>;

const GOODBYE = 'Disconnected, goodbye.\nSee you at ClueCon! http://www.cluecon.com/\n';

export interface OutboundDialerOptions {
  /** Destination number → the socket application's data (`HOST:PORT [async] [full]`). */
  dialplan: Readonly<Record<string, string>>;
  /** How long a playback / prompt lasts (ms); default: tone_stream length, other files 1000. */
  playMs?: number;
  /** How long a try with no key presses waits before it times out (ms); default the app's own timeout. */
  digitTimeoutMs?: number;
}

export interface DialOptions {
  callerIdNumber?: string;
  callerIdName?: string;
  /** Channel variables set before the socket application runs (e.g. `conference_id`). */
  vars?: Record<string, string>;
  /** What the caller keys at each try of play_and_get_digits, in order; '' keys nothing. */
  digits?: readonly string[];
}

export interface ExecutedApp {
  app: string;
  arg: string;
}

export interface DialedCall {
  readonly uuid: string;
  /** Every application the socket executed, in order. */
  readonly executed: readonly ExecutedApp[];
  /** Resolves with the hangup cause once the call is over and the socket closed. */
  readonly ended: Promise<string>;
  /** The member id while the call is in a conference. */
  memberId(): number | undefined;
  /** The caller hangs up. */
  hangup(cause?: string): void;
}

interface Command {
  line: string;
  headers: Record<string, string>;
}

interface SocketTarget {
  host: string;
  port: number;
  async: boolean;
  full: boolean;
}

function parseSocketData(data: string): SocketTarget {
  const [addr = '', ...flags] = data.trim().split(/\s+/);
  const colon = addr.lastIndexOf(':');
  const port = Number(addr.slice(colon + 1));
  if (colon <= 0 || !Number.isInteger(port) || port <= 0 || port > 65535) throw new SimulatorInvalidArgumentError(`bad socket data ${JSON.stringify(data)}`);
  return { host: addr.slice(0, colon), port, async: flags.includes('async'), full: flags.includes('full') };
}

export class OutboundDialer {
  private readonly calls = new Set<OutboundCall>();

  constructor(
    private readonly engine: ConferenceEngine,
    private readonly options: OutboundDialerOptions,
  ) {}

  /** A call to `number` arrives; its dialplan entry hands it to the socket. */
  dial(number: string, options: DialOptions = {}): DialedCall {
    const data = this.options.dialplan[number];
    if (data === undefined) throw new SimulatorNotFoundError(`no dialplan entry for ${number}`, { number });
    const call = new OutboundCall(this.engine, this.options, number, parseSocketData(data), options);
    this.calls.add(call);
    void call.ended.finally(() => this.calls.delete(call));
    return call;
  }

  /** Hangs up every call still up. */
  async close(): Promise<void> {
    const pending = [...this.calls].map((c) => c.ended.catch(() => undefined));
    for (const c of this.calls) c.hangup('NORMAL_CLEARING');
    await Promise.all(pending);
  }
}

class OutboundCall implements DialedCall {
  readonly uuid = randomUUID();
  readonly executed: ExecutedApp[] = [];
  readonly ended: Promise<string>;
  private resolveEnded!: (cause: string) => void;
  private readonly socket: Socket;
  private input = Buffer.alloc(0);
  private readonly vars: Record<string, string>;
  private readonly digits: string[];
  private readonly createdUs: number;
  private answered = false;
  private myevents = false;
  private linger = false;
  private hungUp: string | undefined;
  private member: number | undefined;
  /** Applications run one after another, as a session's queued messages do. */
  private queue: Promise<void> = Promise.resolve();
  private readonly unsubscribe: () => void;
  private leaveConference: (() => void) | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly engine: ConferenceEngine,
    private readonly options: OutboundDialerOptions,
    private readonly destination: string,
    private readonly target: SocketTarget,
    private readonly dial: DialOptions,
  ) {
    this.ended = new Promise((resolve) => (this.resolveEnded = resolve));
    this.vars = { ...(dial.vars ?? {}) };
    this.digits = [...(dial.digits ?? [])];
    this.createdUs = engine.now() * 1000;
    this.unsubscribe = engine.onEvent((ev) => this.onEngineEvent(ev));
    this.socket = connect({ host: target.host, port: target.port });
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
    this.socket.on('error', () => undefined);
    this.socket.on('close', () => this.onSocketClosed());
  }

  memberId(): number | undefined {
    return this.member;
  }

  hangup(cause = 'NORMAL_CLEARING'): void {
    this.doHangup(cause);
  }

  // ------------------------------------------------------------------------------------------
  // Channel data

  private channelName(): string {
    return `sofia/internal/${this.dial.callerIdNumber ?? '0000000000'}@127.0.0.1`;
  }

  private channelHeaders(): Header[] {
    const cidNumber = this.dial.callerIdNumber ?? '0000000000';
    const cidName = this.dial.callerIdName ?? cidNumber;
    const hung = this.hungUp !== undefined;
    const h: Header[] = [
      ['Channel-State', hung ? 'CS_HANGUP' : 'CS_EXECUTE'],
      ['Channel-Call-State', hung ? 'HANGUP' : this.answered ? 'ACTIVE' : 'RINGING'],
      ['Channel-State-Number', hung ? '10' : '4'],
      ['Channel-Name', this.channelName()],
      ['Unique-ID', this.uuid],
      ['Call-Direction', 'inbound'],
      ['Presence-Call-Direction', 'inbound'],
      ['Channel-HIT-Dialplan', 'true'],
      ['Channel-Call-UUID', this.uuid],
      ['Answer-State', hung ? 'hangup' : this.answered ? 'answered' : 'ringing'],
    ];
    if (hung) h.push(['Hangup-Cause', this.hungUp!]);
    h.push(
      ['Caller-Direction', 'inbound'],
      ['Caller-Logical-Direction', 'inbound'],
      ['Caller-Username', cidNumber],
      ['Caller-Dialplan', 'XML'],
      ['Caller-Caller-ID-Name', cidName],
      ['Caller-Caller-ID-Number', cidNumber],
      ['Caller-Orig-Caller-ID-Name', cidName],
      ['Caller-Orig-Caller-ID-Number', cidNumber],
      ['Caller-Network-Addr', '127.0.0.1'],
      ['Caller-ANI', cidNumber],
      ['Caller-Destination-Number', this.destination],
      ['Caller-Unique-ID', this.uuid],
      ['Caller-Source', 'mod_sofia'],
      ['Caller-Context', 'default'],
      ['Caller-Channel-Name', this.channelName()],
      ['Caller-Profile-Index', '1'],
      ['Caller-Profile-Created-Time', String(this.createdUs)],
      ['Caller-Channel-Created-Time', String(this.createdUs)],
      ['Caller-Channel-Answered-Time', '0'],
      ['Caller-Channel-Hangup-Time', '0'],
      ['Caller-Screen-Bit', 'true'],
      ['Caller-Privacy-Hide-Name', 'false'],
      ['Caller-Privacy-Hide-Number', 'false'],
    );
    h.push(['variable_uuid', this.uuid], ['variable_call_uuid', this.uuid]);
    for (const [k, v] of Object.entries(this.vars)) h.push([`variable_${k}`, v]);
    return h;
  }

  private channelEvent(name: string, site: CallingSite, extra: Header[] = []): SimEvent {
    return this.engine.events.create(name, undefined, site, [...extra, ...this.channelHeaders()]);
  }

  private fire(event: SimEvent): void {
    // Global, as FreeSWITCH's events are: the inbound subscribers see them, and myevents forwards them here.
    this.engine.emit(event);
  }

  private onEngineEvent(ev: SimEvent): void {
    if (!this.myevents || this.socket.destroyed) return;
    if (ev.header('Unique-ID') !== this.uuid) return;
    this.socket.write(ev.frame('plain'));
    if (ev.header('Action') === 'del-member') this.leaveConference?.();
  }

  // ------------------------------------------------------------------------------------------
  // Commands from the socket

  private onData(chunk: Buffer): void {
    this.input = Buffer.concat([this.input, chunk]);
    for (;;) {
      const end = this.input.indexOf('\n\n');
      if (end < 0) return;
      const block = this.input.toString('utf8', 0, end).replace(/\r/g, '');
      this.input = this.input.subarray(end + 2);
      const lines = block.split('\n').filter((l) => l.trim() !== '');
      if (lines.length === 0) continue;
      const headers: Record<string, string> = {};
      for (const l of lines.slice(1)) {
        const colon = l.indexOf(':');
        if (colon > 0) headers[l.slice(0, colon).trim().toLowerCase()] = l.slice(colon + 1).trim();
      }
      this.onCommand({ line: lines[0]!.trim(), headers });
    }
  }

  private reply(text: string): void {
    if (!this.socket.destroyed) this.socket.write(commandReply(text));
  }

  private onCommand(cmd: Command): void {
    const word = cmd.line.split(/\s+/)[0]!.toLowerCase();
    switch (word) {
      case 'connect':
        return this.sendChannelData();
      case 'myevents':
        this.myevents = true;
        return this.reply('+OK Events Enabled');
      case 'linger':
        this.linger = true;
        return this.reply('+OK will linger');
      case 'nolinger':
        this.linger = false;
        return this.reply('+OK will not linger');
      case 'exit':
        this.reply('+OK bye');
        this.socket.end();
        return;
      case 'sendmsg':
        return this.onSendmsg(cmd);
      case 'api':
        // The outbound socket takes api commands too (mod_event_socket's parse_command).
        if (!this.socket.destroyed) this.socket.write(apiResponse(this.engine.executeApi(cmd.line.slice(4).trim())));
        return;
      default:
        return this.reply('-ERR command not found');
    }
  }

  private sendChannelData(): void {
    const ev = this.channelEvent('CHANNEL_DATA', CHANNEL_SITES.data);
    let text = '';
    for (const [k, v] of ev.headers) text += `${k}: ${urlEncode(v)}\n`;
    const tail: Header[] = [
      ['Content-Type', 'command/reply'],
      ['Reply-Text', '+OK\n'],
      ['Socket-Mode', this.target.async ? 'async' : 'static'],
      ['Control', this.target.full ? 'full' : 'single-channel'],
    ];
    for (const [k, v] of tail) text += `${k}: ${urlEncode(v)}\n`;
    this.socket.write(text + '\n');
  }

  private onSendmsg(cmd: Command): void {
    const h = cmd.headers;
    const command = (h['call-command'] ?? '').toLowerCase();
    if (this.hungUp !== undefined) return this.reply('-ERR invalid session id [' + this.uuid + ']');
    if (command === 'hangup') {
      this.reply('+OK');
      this.doHangup(h['hangup-cause'] ?? 'NORMAL_CLEARING');
      return;
    }
    if (command !== 'execute') return this.reply('-ERR invalid command');
    const app = h['execute-app-name'];
    if (!app) return this.reply('-ERR invalid command');
    const arg = h['execute-app-arg'] ?? '';
    const appUuid = h['event-uuid'] ?? randomUUID();
    this.reply('+OK');
    this.queue = this.queue.then(() => this.execute(app, arg, appUuid)).catch(() => undefined);
  }

  // ------------------------------------------------------------------------------------------
  // Applications

  private async execute(app: string, arg: string, appUuid: string): Promise<void> {
    if (this.hungUp !== undefined) return;
    this.executed.push({ app, arg });
    const appHeaders: Header[] = [
      ['Application', app],
      ['Application-Data', arg],
      ['Application-UUID', appUuid],
    ];
    this.fire(this.channelEvent('CHANNEL_EXECUTE', CHANNEL_SITES.execute, appHeaders));
    let response = '_none_';
    switch (app) {
      case 'answer':
        if (!this.answered) {
          this.answered = true;
          this.fire(this.channelEvent('CHANNEL_ANSWER', CHANNEL_SITES.answer));
        }
        break;
      case 'playback':
        await this.play(arg);
        response = 'FILE PLAYED';
        break;
      case 'set': {
        const eq = arg.indexOf('=');
        if (eq > 0) {
          const value = arg.slice(eq + 1);
          if (value === '') delete this.vars[arg.slice(0, eq)];
          else this.vars[arg.slice(0, eq)] = value;
        }
        break;
      }
      case 'record':
        // `record <path> [limit_secs] …`: the caller speaks for at most the limit.
        await this.wait(Math.min(this.options.playMs ?? 1000, (Number(arg.trim().split(/\s+/)[1]) || 60) * 1000));
        break;
      case 'sleep':
        await this.wait(Number(arg) || 0);
        break;
      case 'play_and_get_digits':
        await this.playAndGetDigits(arg);
        break;
      case 'conference':
        await this.conference(arg);
        break;
      case 'hangup':
        this.doHangup(arg.trim() || 'NORMAL_CLEARING');
        return;
      default:
        response = '-ERR unknown application';
    }
    if (this.hungUp !== undefined) return;
    this.fire(this.channelEvent('CHANNEL_EXECUTE_COMPLETE', CHANNEL_SITES.executeComplete, [...appHeaders, ['Application-Response', response]]));
  }

  private wait(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        resolve();
      }, ms);
      this.timers.add(t);
    });
  }

  private play(file: string): Promise<void> {
    return this.wait(this.options.playMs ?? playDurationMs(file, 1000));
  }

  /** `min max tries timeout terminators file invalid_file var_name regexp [digit_timeout]`. */
  private async playAndGetDigits(arg: string): Promise<void> {
    const a = arg.trim().split(/\s+/);
    const min = Number(a[0]);
    const max = Number(a[1]);
    let tries = Number(a[2]);
    const timeout = Number(a[3]);
    const terminators = a[4] ?? '#';
    const file = a[5] ?? '';
    const invalid = a[6] ?? '';
    const varName = a[7] ?? '';
    const regexp = a[8] ? new RegExp(a[8]) : undefined;
    let last = '';
    while (tries-- > 0 && this.hungUp === undefined) {
      if (file) await this.play(file);
      const keyed = this.digits.shift() ?? '';
      let got = '';
      for (const d of keyed) {
        this.fire(this.channelEvent('DTMF', CHANNEL_SITES.dtmf, [
          ['DTMF-Digit', d],
          ['DTMF-Duration', '2000'],
          ['DTMF-Source', 'RTP'],
        ]));
        if (terminators !== 'none' && terminators.includes(d)) break;
        got += d;
        if (got.length >= max) break;
      }
      if (keyed === '') await this.wait(this.options.digitTimeoutMs ?? timeout);
      last = got;
      if (got.length > 0) this.vars[varName] = got;
      else delete this.vars[varName];
      this.vars.read_result = got.length === 0 ? 'timeout' : 'success';
      if (got.length >= min && (!regexp || regexp.test(got))) return;
      if (this.hungUp === undefined && invalid) await this.play(invalid);
    }
    if (last === '') delete this.vars[varName];
    this.vars.read_result = 'failure';
  }

  /** `NAME[@PROFILE][+PIN][+flags{a|b}]`: joins and returns when the member leaves. */
  private async conference(arg: string): Promise<void> {
    const m = /^([^@+\s]+)(?:@([^+\s]+))?(?:\+flags\{([^}]*)\})?$/.exec(arg.trim());
    if (!m) throw new SimulatorInvalidArgumentError(`bad conference data ${JSON.stringify(arg)}`);
    const [, name, profileName = 'default'] = m;
    const flags = new Set((m[3] ?? '').split('|').filter((f) => f !== ''));
    // An unknown profile: mod_conference's compiled-in defaults (no sounds), as the engine does too.
    const profile = this.engine.profile(profileName) ?? BUILTIN_PROFILE;
    const conf = this.engine.conference(name!);
    if (conf?.locked) {
      if (profile.lockedSound) await this.play(profile.lockedSound);
      return;
    }
    // The conference's own limit: the profile's max-members, or what `set max_members` made it.
    if (conf && conf.maxMembers > 0 && conf.members.length >= conf.maxMembers) {
      if (profile.maxMembersSound) await this.play(profile.maxMembersSound);
      return;
    }
    const left = new Promise<void>((resolve) => (this.leaveConference = resolve));
    try {
      const joined = this.engine.originate({
        conference: name!,
        profile: profileName,
        moderator: flags.has('moderator'),
        mute: flags.has('mute'),
        deaf: flags.has('deaf'),
        uuid: this.uuid,
        flags: [...flags],
        channelName: this.channelName(),
        destination: this.destination,
        callerIdNumber: this.dial.callerIdNumber ?? '0000000000',
        ...(this.dial.callerIdName !== undefined ? { callerIdName: this.dial.callerIdName } : {}),
        vars: this.vars,
      });
      this.member = joined.member.id;
    } catch (err) {
      if (err instanceof SimulatorStateError) return;
      throw err;
    }
    await left;
    this.member = undefined;
    this.leaveConference = undefined;
  }

  // ------------------------------------------------------------------------------------------
  // Hangup

  private doHangup(cause: string): void {
    if (this.hungUp !== undefined) return;
    // The member leaves first (del-member carries the channel's hangup cause).
    if (this.member !== undefined) this.engine.hangup(this.uuid, cause);
    this.hungUp = cause;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.leaveConference?.();
    this.fire(this.channelEvent('CHANNEL_HANGUP', CHANNEL_SITES.hangup, [['Hangup-Cause', cause]]));
    this.fire(this.channelEvent('CHANNEL_HANGUP_COMPLETE', CHANNEL_SITES.hangupComplete, [['Hangup-Cause', cause]]));
    if (!this.socket.destroyed) {
      const notice = encodeFrame(
        [
          ['Content-Type', 'text/disconnect-notice'],
          ['Controlled-Session-UUID', this.uuid],
          ['Content-Disposition', this.linger ? 'linger' : 'disconnect'],
          ['Channel-Name', this.channelName()],
          ['Content-Length', String(byteLength(GOODBYE))],
        ],
        GOODBYE,
      );
      this.socket.end(notice);
    }
    this.finish();
  }

  private onSocketClosed(): void {
    // The socket application's peer went away: FreeSWITCH hangs the call up unless it already is.
    if (this.hungUp === undefined) this.doHangup('NORMAL_CLEARING');
    this.finish();
  }

  private finish(): void {
    if (!this.socket.destroyed && this.hungUp === undefined) return;
    this.unsubscribe();
    this.resolveEnded(this.hungUp ?? 'NORMAL_CLEARING');
  }
}
