/**
 * The publish path of each AMQP client library behind one small interface, for `bench -- bus`:
 * one connection, one confirm channel, persistent messages with the same properties as
 * AmqpPublisher's (content_type, message_id, timestamp, app_id, type, empty headers), a confirm
 * callback per message. The driver (`drive`) keeps the same in-flight window for every client.
 */
import amqp from 'amqplib';
import { AMQPClient } from '@cloudamqp/amqp-client';
import { Connection as RabbitConnection } from 'rabbitmq-client';
import { AMQP_URL } from './_bus-common.js';
import { PublishFrameEncoder } from '../src/bus/publish-frames.js';
import { PublishSocket } from '../src/bus/publish-socket.js';

export interface PublishClient {
  readonly name: string;
  /** Publishes one message; `done` runs on its confirm (an error on nack). False: wait before more. */
  publish(key: string, body: Buffer, messageId: string, done: (err?: unknown) => void): boolean | void;
  close(): Promise<void>;
}

const TYPE = 'start-talking';
const APP_ID = 'confmgr';

export async function amqplibClient(exchange: string): Promise<PublishClient> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  return {
    name: 'amqplib',
    publish: (key, body, messageId, done) =>
      ch.publish(exchange, key, body, { persistent: true, contentType: 'application/json', messageId, timestamp: Math.floor(Date.now() / 1000), appId: APP_ID, type: TYPE, headers: {} }, (err: unknown) =>
        done(err ?? undefined),
      ),
    close: () => conn.close(),
  };
}

export async function cloudamqpClient(exchange: string): Promise<PublishClient> {
  const client = new AMQPClient(AMQP_URL);
  const conn = await client.connect();
  const ch = await conn.channel();
  await ch.confirmSelect();
  return {
    name: '@cloudamqp/amqp-client',
    publish: (key, body, messageId, done) => {
      ch.basicPublish(exchange, key, body, { deliveryMode: 2, contentType: 'application/json', messageId, timestamp: new Date(), appId: APP_ID, type: TYPE, headers: {} }).then(
        () => done(),
        (err: unknown) => done(err ?? new Error('nacked')),
      );
    },
    close: async () => {
      await conn.close();
    },
  };
}

export async function rabbitmqClient(exchange: string): Promise<PublishClient> {
  const rabbit = new RabbitConnection({ url: AMQP_URL, retryLow: 100, retryHigh: 1000 });
  const ch = await rabbit.acquire();
  await ch.confirmSelect();
  return {
    name: 'rabbitmq-client',
    publish: (key, body, messageId, done) => {
      ch.basicPublish({ exchange, routingKey: key, durable: true, contentType: 'application/json', messageId, timestamp: Math.floor(Date.now() / 1000), appId: APP_ID, type: TYPE, headers: {} }, body).then(
        () => done(),
        (err: unknown) => done(err ?? new Error('nacked')),
      );
    },
    close: async () => {
      await ch.close();
      await rabbit.close();
    },
  };
}

/**
 * confmgr's publish path without its backlog: frames encoded by PublishFrameEncoder into one buffer
 * per event-loop turn, written once to the socket of an amqplib connection (PublishSocket), confirms
 * matched by delivery tag (multiple acks included).
 */
export async function framesClient(exchange: string): Promise<PublishClient> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createConfirmChannel();
  const socket = new PublishSocket(conn, ch);
  const encoder = new PublishFrameEncoder({ exchange, mandatory: false, appId: APP_ID });
  const callbacks: Array<(err?: unknown) => void> = [];
  let firstTag = 1;
  let buf = Buffer.allocUnsafe(8 << 20);
  let at = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    const out = Buffer.from(buf.subarray(0, at));
    at = 0;
    socket.write(out);
  };
  const confirm = (f: { deliveryTag: number; multiple: boolean }, err?: Error): void => {
    // RabbitMQ confirms one channel's publishes in order; a single ack is then the next tag.
    while (firstTag <= f.deliveryTag && callbacks.length > 0) {
      firstTag++;
      callbacks.shift()!(err);
    }
  };
  ch.on('ack', (f: { deliveryTag: number; multiple: boolean }) => confirm(f));
  ch.on('nack', (f: { deliveryTag: number; multiple: boolean }) => confirm(f, new Error('nacked')));
  // confmgr encodes the JSON string straight into the frame; the bench's bodies are Buffers, decoded once.
  const texts = new Map<Buffer, string>();
  return {
    name: 'confmgr frames (batched)',
    publish: (key, content, messageId, done) => {
      let text = texts.get(content);
      if (text === undefined) texts.set(content, (text = content.toString('utf8')));
      const fields = { routingKey: key, messageId, timestamp: Math.floor(Date.now() / 1000), type: TYPE, headers: undefined, body: text };
      if (buf.length - at < encoder.maxLength(fields)) {
        flush();
        if (buf.length < encoder.maxLength(fields)) buf = Buffer.allocUnsafe(encoder.maxLength(fields));
      }
      at = encoder.encode(buf, at, fields);
      callbacks.push(done);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    },
    close: () => conn.close(),
  };
}

export interface DriveResult {
  /** Messages per second, first publish → last confirm. */
  rate: number;
  /** This process's CPU (user + system) per message over the same window, µs. */
  cpuUs: number;
  /** The broker's CPU per message over the same window, µs (NaN when its process is not visible). */
  brokerUs: number;
}

/**
 * Publishes `n` messages through `client` keeping at most `window` unconfirmed, up to `turn` per
 * event-loop turn, and measures until the last confirm.
 */
export async function drive(client: PublishClient, n: number, window: number, bodies: Buffer[], keys: string[], turn = 2000): Promise<DriveResult> {
  const broker0 = brokerCpuUs();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise<void>((resolve, reject) => {
    let sent = 0;
    let confirmed = 0;
    let inflight = 0;
    let scheduled = false;
    let waiting = false;
    const onConfirm = (err?: unknown): void => {
      if (err) return reject(err instanceof Error ? err : new Error(String(err)));
      inflight--;
      if (++confirmed === n) return resolve();
      schedule();
    };
    const schedule = (): void => {
      if (scheduled || waiting) return;
      scheduled = true;
      setImmediate(pump);
    };
    const pump = (): void => {
      scheduled = false;
      let budget = turn;
      while (inflight < window && sent < n && budget-- > 0) {
        const i = sent++;
        inflight++;
        const ok = client.publish(keys[i % keys.length]!, bodies[i % bodies.length]!, `m-${i}`, onConfirm);
        if (ok === false) {
          waiting = true;
          setImmediate(() => {
            waiting = false;
            schedule();
          });
          return;
        }
      }
      if (sent < n && inflight < window) schedule();
    };
    pump();
  });
  const sec = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const broker1 = brokerCpuUs();
  return { rate: n / sec, cpuUs: (cpu.user + cpu.system) / n, brokerUs: (broker1 - broker0) / n };
}

import { readFileSync, readdirSync } from 'node:fs';

let brokerPid: number | undefined | null;

/** CPU time (µs) of the local RabbitMQ (beam.smp) from /proc, NaN when not found. */
export function brokerCpuUs(): number {
  if (brokerPid === undefined) {
    brokerPid = null;
    for (const d of readdirSync('/proc')) {
      if (!/^\d+$/.test(d)) continue;
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, 'latin1');
        if (cmd.includes('beam.smp') && cmd.includes('rabbit')) {
          brokerPid = Number(d);
          break;
        }
      } catch {
        // gone meanwhile
      }
    }
  }
  if (brokerPid === null) return NaN;
  try {
    const f = readFileSync(`/proc/${brokerPid}/stat`, 'latin1');
    const parts = f.slice(f.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(parts[11]) + Number(parts[12]);
    return (ticks / 100) * 1e6;
  } catch {
    return NaN;
  }
}
