/**
 * Versioned PostgreSQL schema (same tables as SQLite). Append only. Document bodies are TEXT holding
 * JSON, not JSONB: JSONB reorders keys, and a client must get back the document it stored.
 */
import type { Migration } from './sqlite.js';

export const postgresMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE conference_documents (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL,
        body        TEXT NOT NULL,
        revision    TEXT NOT NULL,
        created_at  BIGINT NOT NULL,
        updated_at  BIGINT NOT NULL
      );
      CREATE INDEX conference_documents_account ON conference_documents (account_id);

      CREATE TABLE conferencecalls (
        id              TEXT PRIMARY KEY,
        customer_id     TEXT NOT NULL,
        conference_id   TEXT NOT NULL,
        reference_type  TEXT NOT NULL,
        reference_id    TEXT NOT NULL,
        status          TEXT NOT NULL,
        tm_create       TEXT NOT NULL,
        tm_update       TEXT NOT NULL,
        tm_delete       TEXT NOT NULL,
        member_id       INTEGER,
        node            TEXT
      );
      CREATE INDEX conferencecalls_customer_created ON conferencecalls (customer_id, tm_create);
      CREATE INDEX conferencecalls_active ON conferencecalls (conference_id, reference_id, status);
    `,
  },
  {
    version: 2,
    name: 'conference_numbers',
    // See the SQLite migration of the same name: a number belongs to one document of one account.
    sql: `
      CREATE TABLE conference_numbers (
        number         TEXT PRIMARY KEY,
        conference_id  TEXT NOT NULL REFERENCES conference_documents (id) ON DELETE CASCADE
      );
      CREATE INDEX conference_numbers_conference ON conference_numbers (conference_id);
      INSERT INTO conference_numbers (number, conference_id)
        SELECT x.e #>> '{}', d.id
        FROM conference_documents d,
          LATERAL (VALUES (d.body::jsonb -> 'conference_numbers'), (d.body::jsonb #> '{member,numbers}'), (d.body::jsonb #> '{moderator,numbers}')) a(arr),
          LATERAL jsonb_array_elements(CASE WHEN jsonb_typeof(a.arr) = 'array' THEN a.arr ELSE '[]'::jsonb END) x(e)
        WHERE jsonb_typeof(x.e) = 'string'
        ORDER BY d.id
        ON CONFLICT (number) DO NOTHING;
    `,
  },
];
