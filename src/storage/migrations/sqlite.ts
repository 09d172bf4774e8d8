/**
 * Versioned SQLite schema. Append only: never edit a released migration, add the next version.
 * Each one runs in its own transaction and is recorded in `schema_migrations`.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
      CREATE TABLE conference_documents (
        id          TEXT PRIMARY KEY,
        account_id  TEXT NOT NULL,
        body        TEXT NOT NULL,
        revision    TEXT NOT NULL,
        created_at  INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
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
    // One row per dialled number of a document (conference_numbers, member.numbers,
    // moderator.numbers): the primary key makes a number unique across every account's documents.
    // Existing documents are indexed in id order; a number two documents already shared stays with
    // the first one.
    sql: `
      CREATE TABLE conference_numbers (
        number         TEXT PRIMARY KEY,
        conference_id  TEXT NOT NULL REFERENCES conference_documents (id) ON DELETE CASCADE
      );
      CREATE INDEX conference_numbers_conference ON conference_numbers (conference_id);
      INSERT OR IGNORE INTO conference_numbers (number, conference_id)
        SELECT n.value, d.id
        FROM conference_documents d,
          (SELECT '$.conference_numbers' AS path UNION ALL SELECT '$.member.numbers' UNION ALL SELECT '$.moderator.numbers') p,
          json_each(d.body, p.path) n
        WHERE n.type = 'text'
        ORDER BY d.id;
    `,
  },
];
