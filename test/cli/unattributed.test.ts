/**
 * Black-box, the operator's first try: `confmgr simulate`, `confmgr start` with a config that sets
 * http.default_account_id, calls originated without any account variable (a plain FreeSWITCH), and
 * the operator commands run from the config's directory with no option at all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/acc-harness.js';
import { ACC_ACCOUNT, startRig, type AccRig } from '../helpers/acc-rig.js';

let rig: AccRig;
/** From the directory holding confmgr.yaml, with no CONFMGR_* connection variables: found on its own. */
const cli = (args: string[]): Promise<CliResult> =>
  runCli(args, { cwd: rig.dir, env: { CONFMGR_URL: undefined, CONFMGR_TOKEN: undefined, CONFMGR_ACCOUNT: undefined, CONFMGR_CONFIG: undefined } });

beforeAll(async () => {
  rig = await startRig({ publish: undefined, defaultAccountId: ACC_ACCOUNT });
  await rig.esl.originate('room1', '1001', 'Alice');
  await rig.esl.originate('room1', '1002', 'Bob');
  await rig.tap.waitFor((d) => d.body.event === 'add-member' && d.body.caller_id_number === '1002', 'add-member 1002');
}, 60_000);

afterAll(async () => {
  await rig?.close();
}, 30_000);

describe('a conference without document or account variable, http.default_account_id set', () => {
  it('conferences / participants / mute work with no option, from the config directory', async () => {
    const confs = await cli(['conferences']);
    expect([confs.code, confs.stderr]).toEqual([0, '']);
    expect(confs.stdout).toMatch(/^room1\s+-\s+2\s+0\s+no/m);

    const parts = await cli(['participants', 'room1']);
    expect([parts.code, parts.stderr]).toEqual([0, '']);
    const rows = parts.stdout.trimEnd().split('\n');
    expect(rows).toHaveLength(3);
    expect(rows[1]).toMatch(/^\d+\s+Alice <1001>\s+no/);
    const bob = rows[2]!.split(/\s+/)[0]!;

    const mute = await cli(['mute', 'room1', bob]);
    expect([mute.code, mute.stdout.trim()]).toEqual([0, `OK: mute room1 ${bob}`]);
    await rig.tap.waitFor((d) => d.body.event === 'mute-member' && String(d.body.participant_id) === bob, 'mute-member');
  }, 60_000);
});
