import { describe, expect, it } from 'vitest';
import type { ConferenceCommand } from '../../src/conference/types.js';
import { activeOnlyExecutor, NotActiveForNodeError } from '../../src/app/active-only-executor.js';

describe('activeOnlyExecutor', () => {
  const sent: ConferenceCommand[] = [];
  const inner = { execute: async (c: ConferenceCommand) => (sent.push(c), { command: 'x', node: 'fs1', reply: '+OK' }) };
  const locator = { nodeFor: async (conference: string) => (conference === 'on-a' ? 'A' : 'B') };
  const exec = activeOnlyExecutor(inner, locator, { isServing: (node) => node === 'A' });

  it('sends commands for conferences on nodes this instance is active for', async () => {
    await expect(exec.execute({ kind: 'lock', conference: 'on-a' })).resolves.toMatchObject({ reply: '+OK' });
    expect(sent).toEqual([{ kind: 'lock', conference: 'on-a' }]);
  });

  it('refuses, with a typed error, those on nodes another instance serves, sending nothing', async () => {
    const err = await exec.execute({ kind: 'lock', conference: 'on-b' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotActiveForNodeError);
    expect(err).toMatchObject({ code: 'NOT_ACTIVE_FOR_NODE', details: { conference: 'on-b', node: 'B' } });
    expect(sent).toHaveLength(1);
  });
});
