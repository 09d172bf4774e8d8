/**
 * `Account-ID` on AMQP command messages (real RabbitMQ): when a message carries one, every conference
 * it targets must belong to that account (or to none); otherwise nothing runs and the reply is
 * FORBIDDEN. Without `Account-ID` the broker is the trust boundary, as for Kazoo's own messages.
 */
import amqp from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandReply } from '../../src/bus/command-message.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, CommandRequester, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';

class RecordingExecutor implements ConferenceCommandExecutor {
  readonly seen: ConferenceCommand[] = [];
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.seen.push(command);
    return { command: `${command.conference} ${command.kind}`, node: 'fs1', reply: '+OK' };
  }
}

const OWNERS: Record<string, string> = { 'conf-a': 'acct-a', 'conf-b': 'acct-b' };
const exchange = uniqueName('t-conf-acct');
const queue = uniqueName('t-cmd-acct');
const executor = new RecordingExecutor();
let intake: AmqpCommandIntake;
let requester: CommandRequester;

beforeAll(async () => {
  intake = new AmqpCommandIntake({
    url: AMQP_URL,
    exchange,
    queue,
    executor,
    reconnect: { baseMs: 50, capMs: 300 },
    accountOf: async (conference) => {
      if (conference === 'conf-broken') throw new Error('storage unavailable');
      return OWNERS[conference];
    },
  });
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

describe('Account-ID on command messages', () => {
  it("refuses a Kazoo command for another account's conference: FORBIDDEN, nothing run", async () => {
    const n = executor.seen.length;
    const reply = await send('conf-a', { 'Application-Name': 'lock', 'Conference-ID': 'conf-a', 'Account-ID': 'acct-b', 'Msg-ID': 'k9' });
    expect(reply).toMatchObject({ status: 'error', error: { code: 'FORBIDDEN' }, 'Msg-ID': 'k9', 'Application-Name': 'lock' });
    expect(reply.error?.message).toMatch(/another account/);
    expect(executor.seen.length).toBe(n);
  });

  it('runs it for the right account, for an unattributed conference, and without Account-ID', async () => {
    expect((await send('conf-a', { 'Application-Name': 'lock', 'Conference-ID': 'conf-a', 'Account-ID': 'acct-a' })).status).toBe('success');
    expect((await send('conf-new', { 'Application-Name': 'lock', 'Account-ID': 'acct-b' })).status).toBe('success');
    expect((await send('conf-a', { 'Application-Name': 'unlock', 'Conference-ID': 'conf-a' })).status).toBe('success');
    expect(executor.seen.slice(-3).map((c) => `${c.conference} ${c.kind}`)).toEqual(['conf-a lock', 'conf-new lock', 'conf-a unlock']);
  });

  it("confmgr's form: a bulk touching one foreign conference runs none of its commands", async () => {
    const n = executor.seen.length;
    const reply = await send('conf-a', {
      'Account-ID': 'acct-a',
      commands: [{ kind: 'lock', conference: 'conf-a' }, { kind: 'lock', conference: 'conf-b' }],
    });
    expect(reply.error).toMatchObject({ code: 'FORBIDDEN', details: { conference: 'conf-b', account_id: 'acct-a' } });
    expect(executor.seen.length).toBe(n);
    expect((await send('conf-b', { 'Account-ID': 'acct-b', command: { kind: 'unlock' } })).status).toBe('success');
  });

  it('an account lookup that fails is an internal error: answered INTERNAL and dead-lettered', async () => {
    const before = intake.stats().deadLettered;
    const reply = await send('conf-broken', { 'Application-Name': 'lock', 'Account-ID': 'acct-a' });
    expect(reply.error).toMatchObject({ code: 'INTERNAL', message: 'storage unavailable' });
    let dead: amqp.GetMessage | false = false;
    for (let i = 0; i < 100 && !dead; i++) {
      dead = await requester.channel.get(`${queue}.dead`, { noAck: true });
      if (!dead) await delay(20);
    }
    expect(dead && dead.properties.headers?.['x-confmgr-reason']).toBe('internal_error');
    expect(intake.stats().deadLettered).toBe(before + 1);
  });
});
