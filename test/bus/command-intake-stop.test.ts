/**
 * A graceful stop hands back the commands routed to this instance that it has not run: its own queue
 * is exclusive and goes with its connection, so whatever still waits there is published again on the
 * senders' exchange, and the instance that serves the conference next answers it, exactly once. Two
 * real intakes on the real broker: A serves the conference and is stopped with a backlog; B serves it
 * after.
 */
import amqp from 'amqplib';
import type { ChannelModel } from 'amqplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AmqpCommandIntake } from '../../src/bus/command-intake.js';
import type { CommandResult, ConferenceCommand, ConferenceCommandExecutor } from '../../src/conference/types.js';
import { AMQP_URL, ReplyRecorder, deleteAll, delay, uniqueName } from '../helpers/bus-amqp.js';
import { pollUntil } from '../helpers/wait.js';

class SlowExecutor implements ConferenceCommandExecutor {
  runs = 0;
  constructor(private readonly node: string, private readonly ms: number) {}
  async execute(command: ConferenceCommand): Promise<CommandResult> {
    this.runs++;
    await delay(this.ms);
    return { command: `${command.conference} ${command.kind}`, node: this.node, reply: '+OK' };
  }
}

const exchange = uniqueName('t-stop-ex');
const queue = uniqueName('t-stop-q');
let client: ChannelModel;
let recorder: ReplyRecorder;
/** Every reply by correlation id (filled by the recorder). */
let replies: ReplyRecorder['replies'];
const intakes: AmqpCommandIntake[] = [];

function intake(name: string, served: Set<string>, executor: ConferenceCommandExecutor): AmqpCommandIntake {
  const i = new AmqpCommandIntake({
    url: AMQP_URL,
    exchange,
    queue,
    executor,
    instanceName: name,
    routedConferences: () => served,
    servesConference: (c) => served.has(c),
    handoverWaitMs: 0,
    prefetch: 1,
    reconnect: { baseMs: 50, capMs: 300 },
  });
  intakes.push(i);
  return i;
}

beforeAll(async () => {
  client = await amqp.connect(AMQP_URL);
  recorder = await ReplyRecorder.open(await client.createChannel());
  replies = recorder.replies;
});

afterAll(async () => {
  for (const i of intakes) await i.close(1000);
  await deleteAll([exchange, ...intakes.slice(0, 1).flatMap((i) => [i.routingExchange, i.unroutedExchange])], [queue]);
  await client.close().catch(() => undefined);
});

describe('a graceful stop of the command intake (real RabbitMQ)', () => {
  it('hands the commands still queued for it back: the next instance serving the conference answers each once', async () => {
    const execA = new SlowExecutor('via-a', 100);
    const a = intake('a', new Set(['room']), execA);
    await a.start();
    const ids = Array.from({ length: 12 }, () => recorder.send(exchange, 'room'));
    await pollUntil('a runs the first one', () => execA.runs > 0, 5000);
    await a.close(5000);
    const answeredByA = ids.filter((id) => replies.has(id)).length;
    expect(answeredByA).toBeLessThan(ids.length); // prefetch 1, 100 ms each: most were still queued

    const execB = new SlowExecutor('via-b', 0);
    const b = intake('b', new Set(['room']), execB);
    await b.start();
    await pollUntil('every command answered', () => ids.every((id) => replies.has(id)), 10_000);
    await delay(300);
    expect(ids.map((id) => replies.get(id)!.length)).toEqual(ids.map(() => 1));
    expect(execA.runs + execB.runs).toBe(ids.length);
    const nodes = ids.map((id) => JSON.parse(replies.get(id)![0]!.content.toString()).result?.node as string);
    expect(nodes.filter((n) => n === 'via-b').length).toBe(ids.length - answeredByA);
  });
});
