import { describe, expect, it, vi } from 'vitest';
import { ConferenceControl, mapEslError } from '../../src/conference/control.js';
import {
  CommandRejectedError,
  CommandTimeoutError,
  ConferenceNotFoundError,
  InvalidArgumentError,
  MemberNotFoundError,
  NodeDownError,
  UnrecognizedReplyError,
} from '../../src/conference/errors.js';
import type { ConferenceLocator } from '../../src/conference/types.js';
import { EslConnectionClosedError, EslNodeDownError, EslOverloadError, EslTimeoutError } from '../../src/esl/errors.js';
import type { ApiOptions, BackgroundJobResult, EslNode, NodeState } from '../../src/esl/types.js';
import { readApiExchanges } from '../helpers/conference-api-replies.js';

/**
 * An in-memory EslNode that answers each api command with FreeSWITCH's real reply from
 * api-replies.txt (the demo-plain run, in order for repeated commands), and records what was sent.
 */
class ReplayNode implements EslNode {
  readonly sent: string[] = [];
  state: NodeState = 'up';
  failWith: unknown;
  private readonly replies = new Map<string, string[]>();

  constructor(readonly name: string) {
    for (const e of readApiExchanges()) {
      if (e.scenario !== 'demo-plain' || e.kind !== 'api') continue;
      const list = this.replies.get(e.command) ?? [];
      list.push(e.frame.body);
      this.replies.set(e.command, list);
    }
  }

  set(command: string, body: string): void {
    this.replies.set(command, [body]);
  }

  async api(command: string, _options?: ApiOptions): Promise<string> {
    this.sent.push(command);
    if (this.failWith !== undefined) throw this.failWith;
    const list = this.replies.get(command);
    if (!list || list.length === 0) return `-ERR test fake has no reply for ${command}`;
    return list.length > 1 ? list.shift()! : list[0]!;
  }

  async bgapi(_command: string): Promise<BackgroundJobResult> {
    throw new Error('not used');
  }
}

function setup(options: { timeoutMs?: number } = {}) {
  const node = new ReplayNode('fs1');
  const locator: ConferenceLocator = {
    nodeFor: vi.fn(async (conference: string) => {
      if (conference === 'demo' || conference === 'nosuchconf') return 'fs1';
      if (conference === 'elsewhere') return 'fs-gone';
      throw new ConferenceNotFoundError(conference);
    }),
  };
  const control = new ConferenceControl({ locator, nodes: (n) => (n === 'fs1' ? node : undefined), ...options });
  return { node, locator, control };
}

describe('ConferenceControl.execute with real replies', () => {
  it('sends the exact api string and returns typed data', async () => {
    const { node, control } = setup();
    const r = await control.execute({ kind: 'mute', conference: 'demo', target: 2 });
    expect(node.sent).toEqual(['conference demo mute 2']);
    expect(r).toEqual({
      command: 'conference demo mute 2',
      node: 'fs1',
      reply: '+OK mute 2',
      data: { affected: [{ member: 2, action: 'mute' }], skippedModerators: [] },
    });
    expect((await control.execute({ kind: 'energy', conference: 'demo', target: 2, value: 300 })).data).toMatchObject({ value: 300 });
    expect((await control.execute({ kind: 'count', conference: 'demo' })).data).toBe(3);
    expect((await control.execute({ kind: 'get', conference: 'demo', param: 'count' })).data).toBe(3);
  });

  it('maps real error replies to typed errors', async () => {
    const { control } = setup();
    await expect(control.execute({ kind: 'mute', conference: 'nosuchconf', target: 1 })).rejects.toBeInstanceOf(ConferenceNotFoundError);
    await expect(control.execute({ kind: 'kick', conference: 'demo', target: 999 })).rejects.toBeInstanceOf(MemberNotFoundError);
    await expect(control.execute({ kind: 'floor', conference: 'demo', member: 2 })).rejects.toBeInstanceOf(CommandRejectedError);
  });

  it('an unknown reply is an UnrecognizedReplyError, not success', async () => {
    const { node, control } = setup();
    node.set('conference demo lock', 'Conference is having a bad day');
    const err = await control.execute({ kind: 'lock', conference: 'demo' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecognizedReplyError);
    expect((err as UnrecognizedReplyError).details).toMatchObject({ reply: 'Conference is having a bad day' });
  });

  it('validates before locating or sending anything', async () => {
    const { node, locator, control } = setup();
    await expect(control.execute({ kind: 'mute', conference: 'demo\napi shutdown', target: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(control.execute({ kind: 'volume_in', conference: 'demo', target: 2, value: 9 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(locator.nodeFor).not.toHaveBeenCalled();
    expect(node.sent).toEqual([]);
  });

  it('locator errors pass through; an unknown node is NodeDown', async () => {
    const { control } = setup();
    await expect(control.execute({ kind: 'lock', conference: 'other' })).rejects.toBeInstanceOf(ConferenceNotFoundError);
    const err = await control.execute({ kind: 'lock', conference: 'elsewhere' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeDownError);
    expect((err as NodeDownError).details).toMatchObject({ node: 'fs-gone' });
  });

  it('maps ESL failures: timeout → CommandTimeout, node down / connection closed → NodeDown', async () => {
    const { node, control } = setup();
    node.failWith = new EslTimeoutError('no reply');
    await expect(control.lock('demo')).rejects.toBeInstanceOf(CommandTimeoutError);
    node.failWith = new EslNodeDownError('down');
    await expect(control.lock('demo')).rejects.toBeInstanceOf(NodeDownError);
    node.failWith = new EslConnectionClosedError('closed');
    await expect(control.lock('demo')).rejects.toBeInstanceOf(NodeDownError);
    const overload = new EslOverloadError('busy');
    node.failWith = overload;
    await expect(control.lock('demo')).rejects.toBe(overload);
    expect(mapEslError(new Error('x'), 'fs1', 'c')).toBeInstanceOf(Error);
  });

  it('passes the per-command timeout to the node', async () => {
    const { node, control } = setup({ timeoutMs: 1234 });
    const spy = vi.spyOn(node, 'api');
    await control.unlock('demo');
    expect(spy).toHaveBeenCalledWith('conference demo unlock', { timeoutMs: 1234 });
  });

  it('executeOn bypasses the locator', async () => {
    const { node, locator, control } = setup();
    const r = await control.executeOn('fs1', { kind: 'json_list', conference: 'demo' });
    expect(Array.isArray(r.data)).toBe(true);
    expect(locator.nodeFor).not.toHaveBeenCalled();
    expect(node.sent).toEqual(['conference demo json_list']);
  });
});

describe("the seed's actions map to FreeSWITCH targets", () => {
  it('participants (bulk): mute/unmute/deaf/undeaf every non-moderator, kick everyone', async () => {
    const { node, control } = setup();
    const muted = await control.muteParticipants('demo');
    expect(muted.data).toEqual({ affected: [3, 2].map((member) => ({ member, action: 'mute' })), skippedModerators: [1] });
    await control.unmuteParticipants('demo');
    node.set('conference demo deaf non_moderator', '+OK deaf 3\n+OK deaf 2\nSkipping moderator (member id 1).\n');
    node.set('conference demo undeaf non_moderator', '+OK undeaf 3\n+OK undeaf 2\nSkipping moderator (member id 1).\n');
    node.set('conference demo kick all', '+OK kicked 3\n+OK kicked 2\n+OK kicked 1\n');
    await control.deafParticipants('demo');
    await control.undeafParticipants('demo');
    const kicked = await control.kickAll('demo');
    expect(kicked.data).toMatchObject({ affected: [3, 2, 1].map((member) => ({ member, action: 'kicked' })) });
    expect(node.sent).toEqual([
      'conference demo mute non_moderator',
      'conference demo unmute non_moderator',
      'conference demo deaf non_moderator',
      'conference demo undeaf non_moderator',
      'conference demo kick all',
    ]);
  });

  it('participantsAction / participantAction by name', async () => {
    const { node, control } = setup();
    await control.participantsAction('demo', 'unmute');
    await control.participantAction('demo', 2, 'deaf');
    await control.participantAction('demo', 2, 'kick');
    await control.lock('demo');
    await control.unlock('demo');
    expect((await control.hupAll('demo')).data).toEqual({ affected: [{ member: 1, action: 'hup' }], skippedModerators: [] });
    expect(node.sent).toEqual([
      'conference demo unmute non_moderator',
      'conference demo deaf 2',
      'conference demo kick 2',
      'conference demo lock',
      'conference demo unlock',
      'conference demo hup all',
    ]);
    await expect(control.participantsAction('demo', 'explode' as 'mute')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(control.participantAction('demo', 2, 'hold' as 'mute')).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(control.participantAction('demo', 0, 'mute')).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('per-participant helpers', async () => {
    const { node, control } = setup();
    await control.muteParticipant('demo', 2);
    await control.unmuteParticipant('demo', 'last', { quiet: true });
    await control.deafParticipant('demo', 2);
    await control.undeafParticipant('demo', 2);
    await control.kickParticipant('demo', 2);
    expect(node.sent).toEqual([
      'conference demo mute 2',
      'conference demo unmute last quiet',
      'conference demo deaf 2',
      'conference demo undeaf 2',
      'conference demo kick 2',
    ]);
  });
});
