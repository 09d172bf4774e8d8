/** The resync's requests (listing-fetch.ts) against a scripted api: what is asked, in which order, and when it gives up. */
import { describe, expect, it } from 'vitest';
import {
  JSON_LIST,
  LIST_SUMMARY,
  PAGED_LIST,
  XML_LIST,
  fetchChannelVars,
  fetchListing,
  fetchPagedListing,
  fetchWholeListing,
  type FetchContext,
} from '../../src/state/listing-fetch.js';
import { UnrecognizedReplyError } from '../../src/conference/errors.js';
import type { ListedMember } from '../../src/conference/json-list.js';
import { silentLogger } from '../../src/util/log.js';
import { replyTo } from './registry.helpers.js';

/** A one-conference json_list reply (what `conference <name> json_list` answers). */
function page(name: string, callIds: string[] = [`${name}-call`]): string {
  return JSON.stringify([
    {
      conference_name: name,
      conference_uuid: `uuid-${name}`,
      running: true,
      members: callIds.map((uuid, i) => ({ type: 'caller', id: i + 1, uuid, caller_id_name: uuid, flags: { can_hear: true, can_speak: true } })),
    },
  ]);
}
const summaryLine = (name: string): string => `Conference ${name} (1 member rate: 8000 flags: running)`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A context whose api answers from `answer` (a throw is a rejected request), recording every command. */
function context(answer: (command: string) => string | Promise<string>, superseded: () => boolean = () => false) {
  const commands: string[] = [];
  let clock = 1_000;
  const ctx: FetchContext = {
    node: 'fs1',
    api: async (node, command) => {
      expect(node).toBe('fs1');
      commands.push(command);
      return answer(command);
    },
    log: silentLogger,
    now: () => (clock += 10),
    superseded,
  };
  return { ctx, commands };
}

describe('fetchWholeListing', () => {
  it('asks `conference json_list` once and stamps when it was asked and answered', async () => {
    const { ctx, commands } = context(() => replyTo('demo-plain-control', 'conference demo json_list'));
    let replies = 0;
    const listing = await fetchWholeListing(ctx, () => replies++);
    expect(commands).toEqual([JSON_LIST]);
    expect(replies).toBe(1);
    expect(listing).toMatchObject({ command: JSON_LIST, requestedAtMs: 1_010, receivedAtMs: 1_020 });
    expect(listing!.listed.map((c) => [c.name, c.members.length])).toEqual([['demo', 3]]);
  });

  it('takes `conference xml_list` when json_list is refused, and throws the json_list error when both are', async () => {
    const xml = context((c) => (c === JSON_LIST ? 'Conference json_list not found\n' : replyTo('demo-plain-control', 'conference demo xml_list')));
    let replies = 0;
    const listing = await fetchWholeListing(xml.ctx, () => replies++);
    expect(xml.commands).toEqual([JSON_LIST, XML_LIST]);
    expect(replies).toBe(2);
    expect(listing).toMatchObject({ command: XML_LIST, requestedAtMs: 1_020, receivedAtMs: 1_030 }); // stamped from the xml_list request
    expect(listing!.listed[0]!.name).toBe('demo');

    const neither = context(() => '-ERR nosuchcommand Command not found!');
    const err = await fetchWholeListing(neither.ctx).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnrecognizedReplyError);
    expect((err as Error).message).toContain(JSON_LIST);
  });

  it('gives up when superseded while the reply was on its way: nothing parsed, nothing more asked', async () => {
    let superseded = false;
    const { ctx, commands } = context(
      () => {
        superseded = true;
        return 'not a listing at all';
      },
      () => superseded,
    );
    let replies = 0;
    await expect(fetchWholeListing(ctx, () => replies++)).resolves.toBeUndefined();
    expect(commands).toEqual([JSON_LIST]);
    expect(replies).toBe(0);
  });
});

describe('fetchPagedListing', () => {
  it('asks the summary, then each conference, `concurrency` at once, keeping the summary order', async () => {
    const names = ['a', 'b', 'c', 'd', 'e'];
    let inFlight = 0;
    let maxInFlight = 0;
    const { ctx, commands } = context(async (c) => {
      if (c === LIST_SUMMARY) return `+OK ${names.map(summaryLine).join('\n')}\n`;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const name = /^conference (\S+) json_list$/.exec(c)![1]!;
      await sleep(name === 'a' ? 15 : 2); // the first page answers last
      inFlight--;
      return page(name);
    });
    const listed = await fetchPagedListing(ctx, 2);
    expect(maxInFlight).toBe(2);
    expect(commands).toEqual([LIST_SUMMARY, ...names.map((n) => `conference ${n} json_list`)]);
    expect(listed!.map((c) => c.name)).toEqual(names);
  });

  it('leaves out a conference that ended since the summary', async () => {
    const { ctx } = context((c) => {
      if (c === LIST_SUMMARY) return `+OK ${summaryLine('a')}\n${summaryLine('gone')}\n${summaryLine('b')}\n`;
      if (c === 'conference gone json_list') return '-ERR Conference gone not found\n';
      return page(/^conference (\S+)/.exec(c)![1]!);
    });
    expect((await fetchPagedListing(ctx, 4))!.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('is undefined (take the whole listing) when the summary or a page is not understood, asking no more pages', async () => {
    const refused = context(() => '-ERR nope\n');
    expect(await fetchPagedListing(refused.ctx, 2)).toBeUndefined();
    expect(refused.commands).toEqual([LIST_SUMMARY]);

    const rejected = context(() => Promise.reject(new Error('socket closed')));
    expect(await fetchPagedListing(rejected.ctx, 2)).toBeUndefined();

    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    const badPage = context((c) => {
      if (c === LIST_SUMMARY) return names.map(summaryLine).join('\n');
      if (c === 'conference b json_list') return page('someone-else'); // not the conference asked for
      return page(/^conference (\S+)/.exec(c)![1]!);
    });
    expect(await fetchPagedListing(badPage.ctx, 1)).toBeUndefined();
    expect(badPage.commands).toEqual([LIST_SUMMARY, 'conference a json_list', 'conference b json_list']);

    const brokenPage = context((c) => (c === LIST_SUMMARY ? names.map(summaryLine).join('\n') : 'usage: …'));
    expect(await fetchPagedListing(brokenPage.ctx, 1)).toBeUndefined();
    expect(brokenPage.commands).toEqual([LIST_SUMMARY, 'conference a json_list']);
  });

  it('stops asking pages once superseded', async () => {
    let superseded = false;
    const { ctx, commands } = context(
      (c) => {
        if (c === LIST_SUMMARY) return ['a', 'b', 'c', 'd'].map(summaryLine).join('\n');
        if (c === 'conference b json_list') superseded = true;
        return page(/^conference (\S+)/.exec(c)![1]!);
      },
      () => superseded,
    );
    expect(await fetchPagedListing(ctx, 1)).toBeUndefined();
    expect(commands).toEqual([LIST_SUMMARY, 'conference a json_list', 'conference b json_list']);
  });
});

describe('fetchListing', () => {
  it('whole: json_list only', async () => {
    const { ctx, commands } = context(() => page('a'));
    const listing = await fetchListing(ctx, { listing: 'whole', pageConcurrency: 4 });
    expect(commands).toEqual([JSON_LIST]);
    expect(listing).toMatchObject({ command: JSON_LIST });
  });

  it('paged: summary and pages, one reply phase, stamped from the summary request', async () => {
    const { ctx, commands } = context((c) => (c === LIST_SUMMARY ? `${summaryLine('a')}\n${summaryLine('b')}` : page(/^conference (\S+)/.exec(c)![1]!)));
    let replies = 0;
    const listing = await fetchListing(ctx, { listing: 'paged', pageConcurrency: 4, onReply: () => replies++ });
    expect(commands).toEqual([LIST_SUMMARY, 'conference a json_list', 'conference b json_list']);
    expect(replies).toBe(1);
    expect(listing).toMatchObject({ command: PAGED_LIST, requestedAtMs: 1_010, receivedAtMs: 1_020 });
    expect(listing!.listed.map((c) => c.name)).toEqual(['a', 'b']);
  });

  it('paged, not understood: falls back to the whole listing', async () => {
    const { ctx, commands } = context((c) => (c === LIST_SUMMARY ? '-ERR nope' : page('a')));
    const listing = await fetchListing(ctx, { listing: 'paged', pageConcurrency: 4 });
    expect(commands).toEqual([LIST_SUMMARY, JSON_LIST]);
    expect(listing).toMatchObject({ command: JSON_LIST });
  });

  it('paged, superseded: undefined without falling back', async () => {
    let superseded = false;
    const { ctx, commands } = context(
      (c) => {
        superseded = true;
        return c === LIST_SUMMARY ? summaryLine('a') : page('a');
      },
      () => superseded,
    );
    expect(await fetchListing(ctx, { listing: 'paged', pageConcurrency: 4 })).toBeUndefined();
    expect(commands).toEqual([LIST_SUMMARY]);
  });
});

describe('fetchChannelVars', () => {
  const listedMember = (callId: string): ListedMember =>
    ({ memberId: 1, callId, callerIdName: '', callerIdNumber: '', type: 'caller' }) as ListedMember;
  const dump = (callId: string, vars: Record<string, string>): string =>
    JSON.stringify({
      'Event-Name': 'CHANNEL_DATA',
      'Unique-ID': callId,
      'Channel-Name': `sofia/internal/${callId}`,
      'Channel-Presence-ID': `${callId}@example.com`,
      ...Object.fromEntries(Object.entries(vars).map(([k, v]) => [`variable_${k}`, v])),
    });
  const limits = { concurrency: 2, timeoutMs: 1_000, budgetMs: 10_000 };

  it('fills each member in place from its uuid_dump; a gone channel is counted, not thrown', async () => {
    const members = [listedMember('call-a'), listedMember('call-gone')];
    const { ctx, commands } = context((c) => (c === 'uuid_dump call-a json' ? dump('call-a', { account_id: 'acc-a', sip_user_agent: 'x' }) : '-ERR No such channel!\n'));
    expect(await fetchChannelVars(ctx, members, limits)).toEqual({ fetched: 1, failed: 1 });
    expect(commands.sort()).toEqual(['uuid_dump call-a json', 'uuid_dump call-gone json']);
    expect(members[0]).toMatchObject({ channelVars: { account_id: 'acc-a' }, channelName: 'sofia/internal/call-a', presenceId: 'call-a@example.com' });
    expect(members[1]!.channelVars).toBeUndefined();
  });

  it('never puts a malformed call id on the wire; a request past its timeout fails alone', async () => {
    const members = [listedMember('bad id'), listedMember('call-slow'), listedMember('call-b')];
    const { ctx, commands } = context((c) => (c.includes('call-slow') ? new Promise<string>(() => undefined) : dump('call-b', { account_id: 'b' })));
    expect(await fetchChannelVars(ctx, members, { ...limits, timeoutMs: 20 })).toEqual({ fetched: 1, failed: 2 });
    expect(commands).toEqual(['uuid_dump call-slow json', 'uuid_dump call-b json']);
  });

  it('past the budget, asks no more (the rest are counted as failed)', async () => {
    const members = ['c1', 'c2', 'c3', 'c4', 'c5'].map(listedMember);
    const { ctx, commands } = context(async (c) => {
      if (c.includes('c2')) await sleep(80); // answers after the budget is spent
      return dump(c.split(' ')[1]!, { account_id: 'x' });
    });
    expect(await fetchChannelVars(ctx, members, { concurrency: 1, timeoutMs: 1_000, budgetMs: 50 })).toEqual({ fetched: 2, failed: 3 });
    expect(commands).toEqual(['uuid_dump c1 json', 'uuid_dump c2 json']);
  });

  it('stops asking once superseded', async () => {
    let superseded = false;
    const members = ['c1', 'c2', 'c3'].map(listedMember);
    const { ctx, commands } = context(
      (c) => {
        superseded = true;
        return dump(c.split(' ')[1]!, {});
      },
      () => superseded,
    );
    expect(await fetchChannelVars(ctx, members, { ...limits, concurrency: 1 })).toEqual({ fetched: 1, failed: 0 });
    expect(commands).toEqual(['uuid_dump c1 json']);
  });
});
