/**
 * Recording paths through the AMQP command intake (Kazoo's `record` / `recordstop` and confmgr's own
 * `record` / `norecord`), against the real service with its default `recordings.dirs`
 * (/var/lib/freeswitch/recordings): traversal, relative paths, look-alike directories and encoded dots
 * are answered INVALID_ARGUMENT and never reach FreeSWITCH; a file under the directory is recorded.
 * (No REST route or operator command takes a recording path; AMQP is the one way in.)
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandRequester } from '../helpers/bus-amqp.js';
import { startRelRig, waitUntil, wireCommandLines, type RelRig } from '../helpers/rel-service.js';

const CONF = 'rel-rec';
const DIR = '/var/lib/freeswitch/recordings';
const REFUSED = [
  '../../../../etc/passwd',
  `${DIR}/../../../../etc/passwd`,
  `${DIR}X/a.wav`,
  `${DIR}/%2e%2e/%2e%2e/etc/passwd`,
  'recordings/a.wav',
  '/etc/passwd',
  '/tmp/a.wav',
];

let rig: RelRig;
let requester: CommandRequester;

beforeAll(async () => {
  rig = await startRelRig({ commandIntake: true });
  rig.sim.engine.originate({ conference: CONF, callerIdNumber: '100' });
  await waitUntil('member in the registry', () => rig.service.registry.participants(CONF).length === 1);
  await waitUntil('command intake connected', () => rig.service.intake?.connected === true, 15_000);
  requester = await CommandRequester.open(rig.exchange);
}, 40_000);

afterAll(async () => {
  await requester?.close();
  await rig?.close();
}, 30_000);

function rpc(body: unknown): Promise<Record<string, unknown>> {
  return requester.send(CONF, body);
}

describe('recording paths over AMQP', () => {
  it('refuses traversal, relative and outside paths (Kazoo and confmgr forms) before FreeSWITCH sees them', async () => {
    const bodies: unknown[] = [];
    for (const path of REFUSED) {
      bodies.push({ 'Event-Category': 'conference', 'Event-Name': 'command', 'Application-Name': 'record', 'Conference-ID': CONF, 'Media-Name': path });
      bodies.push({ 'Application-Name': 'recordstop', 'Conference-ID': CONF, 'Media-Name': path });
      bodies.push({ command: { kind: 'record', conference: CONF, path } }, { command: { kind: 'norecord', conference: CONF, path } });
    }
    for (const body of bodies) {
      const reply = await rpc(body);
      const what = JSON.stringify({ body, reply });
      expect(reply.status, what).toBe('error');
      const error = reply.error as { code?: string; message?: string };
      expect(error.code, what).toBe('INVALID_ARGUMENT');
      expect(error.message, what).toMatch(/^path: must (be a file under a recording directory|be an absolute path|not contain)/);
    }
    const wire = wireCommandLines(rig.sim).join('\n');
    expect(wire).not.toMatch(/record|passwd/);
  }, 60_000);

  it('records to, and stops, a file under the directory', async () => {
    const file = `${DIR}/${CONF}.wav`;
    const start = await rpc({ 'Application-Name': 'record', 'Conference-ID': CONF, 'Media-Name': file });
    expect(start.status, JSON.stringify(start)).toBe('success');
    const stop = await rpc({ command: { kind: 'norecord', conference: CONF, path: 'all' } });
    expect(stop.status, JSON.stringify(stop)).toBe('success');
    expect(wireCommandLines(rig.sim)).toEqual(expect.arrayContaining([`api conference ${CONF} record ${file}`, `api conference ${CONF} norecord all`]));
  });
});
