/**
 * What a REST client may send (http.limits.body_bytes and the document bounds): an oversized body gets
 * 413 in the API's error envelope; a conference document with a list, a string, a nesting or a size
 * over its bound gets 400 naming the field — on create, replace and merge patch (whose result is what
 * is bounded, so repeated patches cannot grow a document without end).
 * Unit level: fake registry / executor / events, SQLite in memory, fastify.inject.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Fastify, { type FastifyInstance } from 'fastify';
import { createRecords } from '../../src/records/records.js';
import { registerApi } from '../../src/api/index.js';
import { DOCUMENT_BOUNDS } from '../../src/api/intake-bounds.js';
import { openSqliteStorage, type Storage } from '../../src/storage/index.js';
import { ACCOUNT_A as A, TOKEN_A, testTokens, FakeEvents, FakeExecutor, FakeRegistry } from '../helpers/api-fakes.js';

let app: FastifyInstance;
let storage: Storage;

beforeEach(async () => {
  app = Fastify();
  storage = openSqliteStorage({ path: ':memory:' });
  const deps = { registry: new FakeRegistry(), executor: new FakeExecutor(), storage, events: new FakeEvents(), tokens: testTokens(), nodeUp: () => true };
  await registerApi(app, deps, createRecords(deps), { limits: { bodyBytes: 96 * 1024 } });
  await app.ready();
});

afterEach(async () => {
  await app.close();
  await storage.close();
});

const confs = `/v2/accounts/${A}/conferences`;

async function call(method: 'PUT' | 'POST' | 'PATCH', url: string, body: unknown) {
  const res = await app.inject({ method, url, headers: { 'x-auth-token': TOKEN_A, 'content-type': 'application/json' }, payload: JSON.stringify(body) });
  return { status: res.statusCode, body: JSON.parse(res.body) as Record<string, any> };
}

describe('request bodies', () => {
  it('a body over body_bytes is refused with 413 in the error envelope, on every API route', async () => {
    const big = { data: { name: 'x', ui_metadata: { blob: 'y'.repeat(100 * 1024) } } };
    for (const [method, url] of [
      ['PUT', confs],
      ['PATCH', `${confs}/room`],
      ['PUT', `${confs}/room/participants`],
    ] as const) {
      const res = await call(method, url, big);
      expect(res.status, `${method} ${url}`).toBe(413);
      expect(res.body).toMatchObject({ status: 'error', error: '413', data: { code: 'FST_ERR_CTP_BODY_TOO_LARGE' } });
      expect(res.body.request_id).toMatch(/^[0-9a-f]{32}$/);
    }
  });
});

describe('conference document bounds', () => {
  it('a list longer than its bound: 400 naming the list', async () => {
    const numbers = Array.from({ length: DOCUMENT_BOUNDS.maxListItems + 1 }, (_, i) => String(1000 + i));
    const res = await call('PUT', confs, { data: { id: 'room', conference_numbers: numbers } });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      status: 'error',
      error: '400',
      message: 'invalid data: conference_numbers: The list must not have more than 1000 items',
      data: { conference_numbers: { maxItems: { target: 1000 } } },
    });
    // Exactly at the bound is fine.
    expect((await call('PUT', confs, { data: { id: 'room', conference_numbers: numbers.slice(1) } })).status).toBe(201);
  });

  it('pins, numbers, client lists, nesting and size are bounded too', async () => {
    const pin = await call('PUT', confs, { data: { member: { pins: ['1'.repeat(129)] } } });
    expect(pin.status).toBe(400);
    expect(pin.body.data).toEqual({ 'member.pins.0': { maxLength: { message: 'String must not be more than 128 characters', target: 128 } } });

    const clientList = await call('PUT', confs, { data: { ui_metadata: { tags: Array(1001).fill(1) } } });
    expect(clientList.status).toBe(400);
    expect(clientList.body.data['ui_metadata.tags']).toHaveProperty('maxItems');

    let deep: unknown = 1;
    for (let i = 0; i < 40; i++) deep = { d: deep };
    const nested = await call('PUT', confs, { data: { ui_metadata: deep } });
    expect(nested.status).toBe(400);
    expect(Object.values(nested.body.data as Record<string, object>)[0]).toHaveProperty('maxDepth');

    const large = await call('PUT', confs, { data: { ui_metadata: { blob: 'z'.repeat(70 * 1024) } } });
    expect(large.status).toBe(400);
    expect(large.body.data).toMatchObject({ data: { maxBytes: { target: 65536 } } });
  });

  it('replace and merge patch are bounded on the document they would store', async () => {
    expect((await call('PUT', confs, { data: { id: 'room', name: 'Room' } })).status).toBe(201);
    const tooMany = Array.from({ length: 1001 }, (_, i) => String(i));
    expect((await call('POST', `${confs}/room`, { data: { name: 'Room', member: { numbers: tooMany } } })).status).toBe(400);

    // Each patch is well under the body limit; together they would pass the document's bound.
    const chunk = 'p'.repeat(30 * 1024);
    expect((await call('PATCH', `${confs}/room`, { data: { ui_metadata: { a: chunk } } })).status).toBe(200);
    expect((await call('PATCH', `${confs}/room`, { data: { ui_metadata: { b: chunk } } })).status).toBe(200);
    const third = await call('PATCH', `${confs}/room`, { data: { ui_metadata: { c: chunk } } });
    expect(third.status).toBe(400);
    expect(third.body.data).toHaveProperty('data.maxBytes');
    // The stored document is unchanged by the refused patch.
    const got = await app.inject({ method: 'GET', url: `${confs}/room`, headers: { 'x-auth-token': TOKEN_A } });
    expect(Object.keys((JSON.parse(got.body) as { data: { ui_metadata: object } }).data.ui_metadata)).toEqual(['a', 'b']);
  });
});
