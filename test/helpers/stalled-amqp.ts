/**
 * A stand-in for a stuck RabbitMQ on 127.0.0.1, for shutdown tests (the shared broker is never
 * stopped or paused). Two ways of being stuck:
 *  - `silent`: accepts TCP connections and never sends a byte;
 *  - `blocked`: answers the AMQP 0-9-1 handshake and the set-up a client makes (channels, confirm
 *    mode, exchange / queue declarations, exchange and queue (un)binding, prefetch, consume), then
 *    never answers again:
 *    publishes are never confirmed and a channel or connection close is never acknowledged — what
 *    a broker blocked by its memory alarm, or stopped with SIGSTOP, looks like to its clients.
 * Only the frames those clients send are understood; method frames are written by hand.
 */
import { createServer, type Server, type Socket } from 'node:net';

const FRAME_METHOD = 1;
const FRAME_END = 0xce;
const PROTOCOL_HEADER = 8;

/** [class id, method id] of the methods read or written here. */
const M = {
  connectionStart: [10, 10],
  connectionStartOk: [10, 11],
  connectionTune: [10, 30],
  connectionTuneOk: [10, 31],
  connectionOpen: [10, 40],
  connectionOpenOk: [10, 41],
  channelOpen: [20, 10],
  channelOpenOk: [20, 11],
  exchangeDeclare: [40, 10],
  exchangeDeclareOk: [40, 11],
  exchangeBind: [40, 30],
  exchangeBindOk: [40, 31],
  queueDeclare: [50, 10],
  queueDeclareOk: [50, 11],
  queueBind: [50, 20],
  queueBindOk: [50, 21],
  queueUnbind: [50, 50],
  queueUnbindOk: [50, 51],
  basicQos: [60, 10],
  basicQosOk: [60, 11],
  basicConsume: [60, 20],
  basicConsumeOk: [60, 21],
  confirmSelect: [85, 10],
  confirmSelectOk: [85, 11],
} as const;

const key = ([c, m]: readonly [number, number]): number => (c << 16) | m;

const u8 = (n: number) => Buffer.from([n]);
const u16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
const u32 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
};
const shortstr = (s: string) => Buffer.concat([u8(Buffer.byteLength(s)), Buffer.from(s)]);
const longstr = (s: string) => Buffer.concat([u32(Buffer.byteLength(s)), Buffer.from(s)]);

function methodFrame(channel: number, [classId, methodId]: readonly [number, number], args: Buffer[] = []): Buffer {
  const payload = Buffer.concat([u16(classId), u16(methodId), ...args]);
  return Buffer.concat([u8(FRAME_METHOD), u16(channel), u32(payload.length), payload, u8(FRAME_END)]);
}

/** The shortstr at `offset` of a method's arguments. */
function readShortstr(args: Buffer, offset: number): string {
  const len = args[offset] ?? 0;
  return args.subarray(offset + 1, offset + 1 + len).toString();
}

export interface StalledAmqp {
  port: number;
  url: string;
  /** Method names seen from clients so far (`connection.open`, `basic.consume`, …), in order. */
  readonly seen: string[];
  close(): Promise<void>;
}

export async function startStalledAmqp(mode: 'silent' | 'blocked'): Promise<StalledAmqp> {
  const sockets = new Set<Socket>();
  const seen: string[] = [];
  const names = new Map<number, string>(
    Object.entries(M).map(([name, id]) => [key(id), name.replace(/([A-Z])/g, '.$1').toLowerCase()]),
  );
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    if (mode === 'silent') return;
    let buf = Buffer.alloc(0);
    let headerSeen = false;
    let consumers = 0;
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      if (!headerSeen) {
        if (buf.length < PROTOCOL_HEADER) return;
        buf = buf.subarray(PROTOCOL_HEADER);
        headerSeen = true;
        socket.write(
          methodFrame(0, M.connectionStart, [u8(0), u8(9), u32(0), longstr('PLAIN AMQPLAIN'), longstr('en_US')]),
        );
      }
      while (buf.length >= 7) {
        const size = buf.readUInt32BE(3);
        if (buf.length < 7 + size + 1) return;
        const type = buf[0]!;
        const channel = buf.readUInt16BE(1);
        const payload = buf.subarray(7, 7 + size);
        buf = buf.subarray(8 + size);
        if (type !== FRAME_METHOD) continue; // content of a publish: never confirmed
        const id = (payload.readUInt16BE(0) << 16) | payload.readUInt16BE(2);
        const args = payload.subarray(4);
        seen.push(names.get(id) ?? `${payload.readUInt16BE(0)}.${payload.readUInt16BE(2)}`);
        const reply = answer(id, channel, args);
        if (reply) socket.write(reply);
      }
    });
    function answer(id: number, channel: number, args: Buffer): Buffer | undefined {
      switch (id) {
        case key(M.connectionStartOk):
          return methodFrame(0, M.connectionTune, [u16(2047), u32(131072), u16(0)]);
        case key(M.connectionOpen):
          return methodFrame(0, M.connectionOpenOk, [shortstr('')]);
        case key(M.channelOpen):
          return methodFrame(channel, M.channelOpenOk, [longstr('')]);
        case key(M.confirmSelect):
          return methodFrame(channel, M.confirmSelectOk);
        case key(M.exchangeDeclare):
          return methodFrame(channel, M.exchangeDeclareOk);
        case key(M.queueDeclare): {
          const queue = readShortstr(args, 2) || `amq.gen-stalled-${channel}`;
          return methodFrame(channel, M.queueDeclareOk, [shortstr(queue), u32(0), u32(0)]);
        }
        case key(M.exchangeBind):
          return methodFrame(channel, M.exchangeBindOk);
        case key(M.queueBind):
          return methodFrame(channel, M.queueBindOk);
        case key(M.queueUnbind):
          return methodFrame(channel, M.queueUnbindOk);
        case key(M.basicQos):
          return methodFrame(channel, M.basicQosOk);
        case key(M.basicConsume): {
          const queue = readShortstr(args, 2);
          const tag = readShortstr(args, 3 + Buffer.byteLength(queue)) || `stalled-ctag-${++consumers}`;
          return methodFrame(channel, M.basicConsumeOk, [shortstr(tag)]);
        }
        default:
          return undefined; // publish, close, … : stuck
      }
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    seen,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
