/**
 * Concurrency with order (real RabbitMQ): with a prefetch above 1, commands for the same conference
 * run one after another in delivery order, commands for different conferences run in parallel.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandReply } from '../../src/bus/command-message.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, CommandRequester, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

/** `get` with param `slow` takes 300 ms; every start and end is recorded. */
class TimelineExecutor implements ConferenceCommandExecutor {
  readonly log: string[] = [];
  running = 0;
  maxRunning = 0;
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    const tag = `${command.conference}:${command.kind === 'get' ? command.param : command.kind}`;
    this.log.push(`start ${tag}`);
    this.maxRunning = Math.max(this.maxRunning, ++this.running);
    await delay(command.kind === 'get' && command.param === 'slow' ? 300 : 5);
    this.running--;
    this.log.push(`end ${tag}`);
    return { command: tag, node: 'fs1', reply: '+OK' };
  }
}

const exchange = uniqueName('t-conf-order');
const queue = uniqueName('t-cmd-order');
const executor = new TimelineExecutor();
let intake: AmqpCommandIntake;
let requester: CommandRequester;

beforeAll(async () => {
  intake = new AmqpCommandIntake({ url: AMQP_URL, exchange, queue, executor, reconnect: { baseMs: 50, capMs: 300 } });
  await intake.start();
  requester = await CommandRequester.open(exchange);
});

afterAll(async () => {
  await intake.close(1000);
  await requester.close();
  await deleteAll([exchange], [queue, `${queue}.dead`]);
});

function send(conference: string, body: unknown): Promise<CommandReply> {
  return requester.send<CommandReply>(conference, body);
}

describe('command order per conference, parallel across conferences', () => {
  it('a later command for the same conference waits for the earlier one; another conference does not', async () => {
    executor.log.length = 0;
    const a1 = send('room-a', { command: { kind: 'get', param: 'slow' } });
    const a2 = send('room-a', { command: { kind: 'lock' } });
    const b1 = send('room-b', { command: { kind: 'lock' } });
    const replies = await Promise.all([a1, a2, b1]);
    expect(replies.map((r) => r.status)).toEqual(['success', 'success', 'success']);
    const at = (entry: string) => executor.log.indexOf(entry);
    expect(at('start room-a:lock')).toBeGreaterThan(at('end room-a:slow')); // in order
    expect(at('end room-b:lock')).toBeLessThan(at('end room-a:slow')); // in parallel
  });

  it('a message touching several conferences waits for each, and later ones wait for it', async () => {
    executor.log.length = 0;
    const first = send('room-c', { command: { kind: 'get', param: 'slow', conference: 'room-c' } });
    const both = send('room-c', { commands: [{ kind: 'lock', conference: 'room-c' }, { kind: 'lock', conference: 'room-d' }] });
    const d = send('room-d', { command: { kind: 'unlock' } });
    const e = send('room-e', { command: { kind: 'unlock' } });
    await Promise.all([first, both, d, e]);
    const at = (entry: string) => executor.log.indexOf(entry);
    expect(at('start room-c:lock')).toBeGreaterThan(at('end room-c:slow'));
    expect(at('start room-d:unlock')).toBeGreaterThan(at('end room-d:lock'));
    expect(at('end room-e:unlock')).toBeLessThan(at('end room-c:slow'));
  });

  it('many conferences at once run concurrently, and each one strictly in order', async () => {
    executor.log.length = 0;
    executor.maxRunning = 0;
    const sends: Array<Promise<CommandReply>> = [];
    for (let i = 0; i < 10; i++) for (const conf of ['m1', 'm2', 'm3', 'm4']) sends.push(send(conf, { command: { kind: 'get', param: `p${i}` } }));
    await Promise.all(sends);
    expect(executor.maxRunning).toBeGreaterThan(1);
    expect(executor.maxRunning).toBeLessThanOrEqual(4);
    for (const conf of ['m1', 'm2', 'm3', 'm4']) {
      const mine = executor.log.filter((l) => l.includes(` ${conf}:`));
      expect(mine).toEqual(Array.from({ length: 10 }, (_, i) => [`start ${conf}:p${i}`, `end ${conf}:p${i}`]).flat());
    }
  });
});
