/**
 * The simulator as the far side of a conference dial: `bgapi originate {…}<endpoint>
 * &conference(NAME@PROFILE+flags{…})` answers `+OK Job-UUID: …` at once, then a BACKGROUND_JOB
 * whose body is mod_commands' originate result (`+OK <uuid>` / `-ERR <cause>`), when the endpoint
 * answers, is busy, gives up after originate_timeout, or fails; the joined member carries the join flags.
 */
import { describe, expect, it } from 'vitest';
import { decodeEvent, type EslFrame } from '../../src/esl/codec.js';
import { ManualScheduler, type Simulator } from '../../src/simulator/index.js';
import { FrameClient, waitFor } from '../helpers/sim-replay.js';
import { simScope } from '../helpers/sim-scope.js';

const { sim, track } = simScope();

async function client(s: Simulator): Promise<FrameClient> {
  const c = await FrameClient.connect(s.port);
  track({ close: () => c.close() });
  await waitFor(() => c.frames.length >= 1, 'auth/request');
  c.send('auth ClueCon\n\nevent plain BACKGROUND_JOB\n\n');
  await waitFor(() => c.frames.length >= 3, 'auth and event replies');
  return c;
}

function jobs(c: FrameClient): Array<ReturnType<typeof decodeEvent>> {
  return c.frames.filter((f: EslFrame) => f.type === 'text/event-plain').map((f) => decodeEvent(f)).filter((e) => e.name === 'BACKGROUND_JOB');
}

async function bgapi(c: FrameClient, jobUuid: string, command: string): Promise<void> {
  const before = c.frames.length;
  c.send(`bgapi ${command}\nJob-UUID: ${jobUuid}\n\n`);
  await waitFor(() => c.frames.slice(before).some((f) => f.type === 'command/reply'), 'bgapi reply');
  const reply = c.frames.slice(before).find((f) => f.type === 'command/reply')!;
  expect(reply.headers['Reply-Text']).toBe(`+OK Job-UUID: ${jobUuid}`);
  expect(reply.headers['Job-UUID']).toBe(jobUuid);
}

const job = (c: FrameClient, id: string) => jobs(c).find((e) => e.headers['Job-UUID'] === id);

describe('originate into a conference (conference dial)', () => {
  it('answers: +OK with the origination_uuid, the member joins with its flags and caller id', async () => {
    const s = await sim();
    s.engine.originate({ conference: 'room' });
    const c = await client(s);
    const cmd =
      "originate {origination_uuid=leg-0001-aaaa,originate_timeout=20,origination_caller_id_name='Big Room',origination_caller_id_number=5000}sofia/internal/1000@example.com &conference(room@default+flags{mute|deaf|moderator})";
    await bgapi(c, 'job-1', cmd);
    await waitFor(() => job(c, 'job-1') !== undefined, 'BACKGROUND_JOB');
    const e = job(c, 'job-1')!;
    expect(e.body).toBe('+OK leg-0001-aaaa\n');
    expect(e.headers['Job-Command']).toBe('originate');
    expect(e.headers['Job-Command-Arg']).toBe(cmd.slice('originate '.length));
    expect(e.headers['Event-Calling-Function']).toBe('api_exec');
    const m = s.engine.conferences()[0]!.members.find((x) => x.callId === 'leg-0001-aaaa');
    expect(m).toMatchObject({ moderator: true, canSpeak: false, canHear: false, joinFlags: ['mute', 'deaf', 'moderator'], callerIdName: 'Big Room', callerIdNumber: '5000' });
    expect(s.engine.memberByChannel('leg-0001-aaaa')?.channel.name).toBe('sofia/internal/1000@example.com');
  });

  it('busy and failures: -ERR <cause>, nobody joins', async () => {
    const s = await sim();
    s.engine.originate({ conference: 'room' });
    s.engine.setDialOutcome('user/busy@example.com', { kind: 'busy' });
    s.engine.setDialOutcome('user/gone@example.com', { kind: 'fail', cause: 'CALL_REJECTED' });
    const c = await client(s);
    await bgapi(c, 'job-b', 'originate {origination_uuid=leg-b-00001}user/busy@example.com &conference(room@default)');
    await bgapi(c, 'job-f', 'originate {origination_uuid=leg-f-00001}user/gone@example.com &conference(room@default)');
    await waitFor(() => job(c, 'job-b') !== undefined && job(c, 'job-f') !== undefined, 'both jobs');
    expect(job(c, 'job-b')!.body).toBe('-ERR USER_BUSY\n');
    expect(job(c, 'job-f')!.body).toBe('-ERR CALL_REJECTED\n');
    expect(s.engine.conferences()[0]!.members).toHaveLength(1);
    // Restored: the endpoint answers again.
    s.engine.setDialOutcome('user/busy@example.com', undefined);
    await bgapi(c, 'job-b2', 'originate {origination_uuid=leg-b-00002}user/busy@example.com &conference(room@default)');
    await waitFor(() => job(c, 'job-b2') !== undefined, 'job b2');
    expect(job(c, 'job-b2')!.body).toBe('+OK leg-b-00002\n');
  });

  it('no answer: the job ends only after originate_timeout, with -ERR NO_ANSWER', async () => {
    const scheduler = new ManualScheduler();
    const s = await sim({ scheduler });
    s.engine.originate({ conference: 'room' });
    s.engine.setDialOutcome('sofia/internal/away@example.com', { kind: 'no_answer' });
    const c = await client(s);
    const start = scheduler.now();
    await bgapi(c, 'job-n', 'originate {origination_uuid=leg-n-00001,originate_timeout=7}sofia/internal/away@example.com &conference(room@default)');
    await new Promise((r) => setTimeout(r, 50));
    expect(job(c, 'job-n')).toBeUndefined();
    scheduler.runAll();
    await waitFor(() => job(c, 'job-n') !== undefined, 'job after the timeout');
    expect(job(c, 'job-n')!.body).toBe('-ERR NO_ANSWER\n');
    expect(scheduler.now() - start).toBeGreaterThanOrEqual(7000);
  });

  it('an unknown profile: the conference gets mod_conference\'s compiled-in defaults (profile "none"); xml_locate lists the real ones', async () => {
    const s = await sim();
    const c = await client(s);
    await bgapi(c, 'job-p', 'originate {origination_uuid=leg-p-00001}user/1000 &conference(fresh@nosuch)');
    await waitFor(() => job(c, 'job-p') !== undefined, 'job');
    expect(s.engine.conferences().find((x) => x.name === 'fresh')?.profile).toBe('none');
    const xml = s.engine.executeApi('xml_locate configuration configuration name conference.conf');
    expect(xml).toContain('<profiles>');
    expect(xml).toContain('<profile name="default">');
    expect(xml).not.toContain('nosuch');
    expect(s.engine.executeApi('xml_locate configuration configuration name sofia.conf')).toBe("can't find anything\n");
  });

  it('without &conference(…) only the loopback dialplan exists, as before', async () => {
    const s = await sim();
    expect(s.engine.executeApi('originate sofia/internal/1000@example.com &park()')).toBe('-ERR CHAN_NOT_IMPLEMENTED\n');
    expect(s.engine.executeApi('originate loopback/conf-legacy/default &park()')).toMatch(/^\+OK [0-9a-f-]{36}\n$/);
  });
});
