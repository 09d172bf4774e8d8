/**
 * What an instance answers another one (the cluster view): only conferences of the nodes it serves,
 * only the asking account's, and of another account's conference nothing but that it exists.
 */
import { describe, expect, it } from 'vitest';
import { clusterConferenceAnswers } from '../../src/records/cluster-answers.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, FakeRegistry } from '../helpers/api-fakes.js';

function setup() {
  const registry = new FakeRegistry();
  const docs = new Map<string, { accountId: string; doc: Record<string, unknown> }>();
  const served = new Set(['fs1']);
  const answers = clusterConferenceAnswers({
    registry,
    documents: { get: async (id: string) => (docs.has(id) ? ({ id, revision: '1-x', createdAt: 0, updatedAt: 0, ...docs.get(id)! } as any) : undefined) },
    defaultAccount: A,
    serves: (node) => served.has(node),
  });
  return { registry, docs, served, answers };
}

describe('clusterConferenceAnswers', () => {
  it('conferences: served nodes only, the asking account only, with focus and the document fields', async () => {
    const { registry, docs, answers } = setup();
    registry.join('mine', { participant_id: 1, call_id: 'c1' }); // the default account's
    registry.join('mine', { participant_id: 2, call_id: 'c2', is_moderator: true });
    registry.start('documented', { focus: 'switch-1', is_locked: true });
    docs.set('documented', { accountId: A, doc: { name: 'Doc', member: { pins: [] } } });
    registry.start('theirs');
    docs.set('theirs', { accountId: B, doc: {} });
    registry.start('standby-copy', { node: 'fs2' }); // a node another instance serves
    expect(await answers.conferences(A)).toEqual([
      { id: 'mine', members: 1, admins: 1, duration: 42, is_locked: false, focus: 'vm' },
      { id: 'documented', name: 'Doc', member: { pins: [] }, members: 0, admins: 0, duration: 42, is_locked: true, focus: 'switch-1' },
    ]);
    expect((await answers.conferences(B)).map((e) => e.id)).toEqual(['theirs']);
  });

  it('conference: not found off the served nodes; owned: false for another account (nothing else said); else the view without channel variables', async () => {
    const { registry, served, answers } = setup();
    registry.join('room', { participant_id: 3, call_id: 'c3', channel_vars: { secret: 'x' } });
    expect(await answers.conference(B, 'room')).toEqual({ found: true, owned: false });
    const mine = await answers.conference(A, 'room');
    expect(mine).toMatchObject({ found: true, owned: true, conference: { name: 'room', node: 'fs1', focus: 'vm', duration: 42 } });
    const participants = (mine as unknown as { conference: { participants: Array<Record<string, unknown>> } }).conference.participants;
    expect(participants.map((p) => p.participant_id)).toEqual([3]);
    expect(participants[0]).not.toHaveProperty('channel_vars');
    expect(await answers.conference(A, 'nowhere')).toEqual({ found: false });
    served.delete('fs1');
    expect(await answers.conference(A, 'room')).toEqual({ found: false });
  });
});
