/**
 * Where the publisher writes its pre-encoded publish frames: the socket of an amqplib connection,
 * next to amqplib's own frames. amqplib keeps everything else on that connection — the handshake,
 * heartbeats, connection.blocked / unblocked, channel and connection close, basic.ack / basic.nack
 * and basic.return decoding — and only the publishes bypass its per-message encoder and stream
 * plumbing: a turn's frames go out in one socket write.
 *
 * Writing beside amqplib is safe because both write whole frames in order on one socket: amqplib's
 * writer hands the socket one complete frame (or frameset) per write, so frames never interleave
 * inside one another; and the confirm channel is this publisher's alone, so after confirm.select
 * every basic.publish on it is ours and delivery tags count our writes exactly.
 */
import type { ChannelModel, ConfirmChannel } from 'amqplib';
import { PublishTransportError } from './errors.js';

/** The parts of amqplib's Connection and Channel this uses (not in its typings). */
interface AmqplibConnection {
  stream: {
    write(chunk: Buffer, cb?: (err?: Error | null) => void): boolean; writableNeedDrain?: boolean; once(event: 'drain', cb: () => void): unknown };
  frameMax: number;
  sentSinceLastCheck: boolean;
}

export class PublishSocket {
  /** The confirm channel's number (the channel field of every frame written). */
  readonly channel: number;
  /** The connection's negotiated frame max. */
  readonly frameMax: number;
  private readonly connection: AmqplibConnection;

  constructor(model: ChannelModel, confirmChannel: ConfirmChannel) {
    const connection = (model as unknown as { connection?: Partial<AmqplibConnection> }).connection;
    const channel = (confirmChannel as unknown as { ch?: unknown }).ch;
    if (
      connection === undefined ||
      typeof connection.stream?.write !== 'function' ||
      typeof connection.frameMax !== 'number' ||
      typeof channel !== 'number'
    ) {
      throw new PublishTransportError('this amqplib version does not expose its connection socket, frame max and channel number');
    }
    this.connection = connection as AmqplibConnection;
    this.channel = channel;
    this.frameMax = connection.frameMax;
  }

  /**
   * Writes whole frames; false when the socket's buffer is over its high-water mark (wait for
   * `onDrain`). `written` runs once the socket is done with `frames` (flushed or failed).
   */
  write(frames: Buffer, written?: () => void): boolean {
    // Tells amqplib's heartbeat check that something was sent, as its own writes do.
    this.connection.sentSinceLastCheck = true;
    return written ? this.connection.stream.write(frames, written) : this.connection.stream.write(frames);
  }

  onDrain(cb: () => void): void {
    this.connection.stream.once('drain', cb);
  }
}
