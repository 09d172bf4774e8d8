/**
 * Numbers are unique across every account's conference documents: a create (PUT) or a change
 * (POST, PATCH) reusing one is a 400 in Kazoo's shape (cb_conferences `invalid_numbers`:
 * field `numbers`, rule `unique`, message "Numbers already in use", cause the numbers joined).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { registerApi, type ApiDeps } from '../../src/api/index.js';
import { createRecords } from '../../src/records/records.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ACCOUNT_A as A, ACCOUNT_B as B, TOKEN_A, TOKEN_B, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

let app: FastifyInstance;
let storage: Storage;

beforeEach(async () => {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  const deps: ApiDeps = {
    registry: new FakeRegistry(),
    executor: new FakeExecutor(),
    storage,
    events: new FakeEvents(),
    tokens: testTokens(),
    nodeUp: () => true,
  };
  await registerApi(app, deps, createRecords(deps));
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await storage.close();
});

async function call(method: 'PUT' | 'POST' | 'PATCH' | 'GET', url: string, token: string, body?: unknown) {
  const res = await app.inject({ method, url, headers: { 'x-auth-token': token }, ...(body !== undefined ? { payload: body as object } : {}) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

describe('conference numbers', () => {
  it('a number of another account\'s document is refused on create, change and merge; its own are kept', async () => {
    const a = await call('PUT', `/v2/accounts/${A}/conferences`, TOKEN_A, {
      data: { id: 'conf_a', conference_numbers: ['5550100'], member: { numbers: ['5550101'] }, moderator: { numbers: ['5550102'] } },
    });
    expect(a.status).toBe(201);

    const dup = await call('PUT', `/v2/accounts/${B}/conferences`, TOKEN_B, {
      data: { id: 'conf_b', conference_numbers: ['5550199', '5550102'], member: { numbers: ['5550100'] } },
    });
    expect(dup.status).toBe(400);
    expect(dup.body.status).toBe('error');
    expect(dup.body.data).toEqual({ numbers: { unique: { message: 'Numbers already in use', cause: '5550100, 5550102' } } });
    expect((await call('GET', `/v2/accounts/${B}/conferences/conf_b`, TOKEN_B)).status).toBe(404);

    expect((await call('PUT', `/v2/accounts/${B}/conferences`, TOKEN_B, { data: { id: 'conf_b', conference_numbers: ['5550199'] } })).status).toBe(201);
    const post = await call('POST', `/v2/accounts/${B}/conferences/conf_b`, TOKEN_B, { data: { conference_numbers: ['5550199', '5550101'] } });
    expect(post.status).toBe(400);
    expect(post.body.data.numbers.unique).toEqual({ message: 'Numbers already in use', cause: '5550101' });
    const patch = await call('PATCH', `/v2/accounts/${B}/conferences/conf_b`, TOKEN_B, { data: { moderator: { numbers: ['5550100'] } } });
    expect(patch.status).toBe(400);
    expect(patch.body.data.numbers.unique.cause).toBe('5550100');
    // The refused changes left the document as it was.
    expect((await call('GET', `/v2/accounts/${B}/conferences/conf_b`, TOKEN_B)).body.data.conference_numbers).toEqual(['5550199']);

    // A document may be stored again with its own numbers.
    const again = await call('POST', `/v2/accounts/${A}/conferences/conf_a`, TOKEN_A, {
      data: { conference_numbers: ['5550100'], moderator: { numbers: ['5550102', '5550103'] } },
    });
    expect(again.status).toBe(200);
    // 5550101 was dropped by that change: free for another document now.
    expect((await call('PATCH', `/v2/accounts/${B}/conferences/conf_b`, TOKEN_B, { data: { member: { numbers: ['5550101'] } } })).status).toBe(200);
  });
});
