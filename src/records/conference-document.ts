/**
 * Conference documents: validation against Kazoo's conference schema, defaults, and the pieces of a
 * document that may never come from a client. Pure functions, no I/O.
 *
 * Unknown keys (e.g. `ui_metadata`) are kept, as Kazoo does. Keys starting with `_` or `pvt_`, `id`
 * and the read-only `focus` are dropped from client input: clients GET a document and send it back.
 */
import { RESERVED_CONFERENCE_NAMES } from '../conference/index.js';
import { ValidationError } from './errors.js';

type Json = Record<string, unknown>;
type FieldErrors = Record<string, Record<string, { message: string; target?: unknown; value?: unknown }>>;

/** A FreeSWITCH conference name, which is also the document id (Kazoo's convention). */
export const CONFERENCE_ID_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]{0,127}$/;
/** Profile names end up in `conference <name>@<profile>`: no separators, no whitespace. */
export const PROFILE_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$/;
/** Tone strings / media URIs are written into `conference <c> play <file>`: one token, printable. */
export const TONE_RE = /^[\x21-\x7e]{1,1024}$/;

export const ROLE_DEFAULTS = {
  member: { join_muted: true, join_deaf: false },
  moderator: { join_muted: false, join_deaf: false },
} as const;

const READ_ONLY_KEYS = new Set(['id', 'focus']);

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function addError(errors: FieldErrors, field: string, rule: string, message: string, target?: unknown): void {
  const entry: { message: string; target?: unknown } = { message };
  if (target !== undefined) entry.target = target;
  (errors[field] ??= {})[rule] = entry;
}

function checkStringArray(errors: FieldErrors, field: string, value: unknown): void {
  if (value === undefined) return;
  if (!Array.isArray(value)) return addError(errors, field, 'type', 'Value is not of type array', 'array');
  value.forEach((item, i) => {
    if (typeof item !== 'string') addError(errors, `${field}.${i}`, 'type', 'Value is not of type string', 'string');
  });
}

function checkBoolean(errors: FieldErrors, field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'boolean') addError(errors, field, 'type', 'Value is not of type boolean', 'boolean');
}

function checkRole(errors: FieldErrors, role: 'member' | 'moderator', value: unknown): void {
  if (value === undefined) return;
  if (!isObject(value)) return addError(errors, role, 'type', 'Value is not of type object', 'object');
  checkBoolean(errors, `${role}.join_muted`, value.join_muted);
  checkBoolean(errors, `${role}.join_deaf`, value.join_deaf);
  checkStringArray(errors, `${role}.numbers`, value.numbers);
  checkStringArray(errors, `${role}.pins`, value.pins);
}

function checkTone(errors: FieldErrors, field: string, value: unknown): void {
  if (value === undefined || typeof value === 'boolean') return;
  if (typeof value !== 'string') return addError(errors, field, 'type', 'Value is not of type boolean or string', ['boolean', 'string']);
  if (value.length === 0) return addError(errors, field, 'minLength', 'String must be at least 1 characters', 1);
  if (!TONE_RE.test(value)) {
    addError(errors, field, 'pattern', 'Must be one token of printable characters (a tone string or media URI, at most 1024 characters)');
  }
}

/** Drops what a client may not set; returns a new object. */
export function stripReadOnly(input: Json): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(input)) {
    if (READ_ONLY_KEYS.has(k) || k.startsWith('_') || k.startsWith('pvt_')) continue;
    out[k] = v;
  }
  return out;
}

/** Throws ValidationError naming every bad field; `doc` must already be stripped. */
export function validateConferenceDocument(doc: Json): void {
  const errors: FieldErrors = {};
  if (doc.name !== undefined) {
    if (typeof doc.name !== 'string') addError(errors, 'name', 'type', 'Value is not of type string', 'string');
    else if (doc.name.length < 1) addError(errors, 'name', 'minLength', 'String must be at least 1 characters', 1);
    else if ([...doc.name].length > 128) addError(errors, 'name', 'maxLength', 'String must not be more than 128 characters', 128);
  }
  if (doc.owner_id !== undefined) {
    if (typeof doc.owner_id !== 'string') addError(errors, 'owner_id', 'type', 'Value is not of type string', 'string');
    else if (doc.owner_id.length < 32) addError(errors, 'owner_id', 'minLength', 'String must be at least 32 characters', 32);
    else if (doc.owner_id.length > 32) addError(errors, 'owner_id', 'maxLength', 'String must not be more than 32 characters', 32);
  }
  checkStringArray(errors, 'conference_numbers', doc.conference_numbers);
  checkRole(errors, 'member', doc.member);
  checkRole(errors, 'moderator', doc.moderator);
  checkBoolean(errors, 'play_name', doc.play_name);
  checkTone(errors, 'play_entry_tone', doc.play_entry_tone);
  checkTone(errors, 'play_exit_tone', doc.play_exit_tone);
  if (doc.max_members !== undefined) {
    // Kazoo's name: the most members the conference admits (the entry service refuses the next caller).
    if (typeof doc.max_members !== 'number' || !Number.isInteger(doc.max_members)) addError(errors, 'max_members', 'type', 'Value is not of type integer', 'integer');
    else if (doc.max_members < 1) addError(errors, 'max_members', 'minimum', 'Value must be at least 1', 1);
  }
  if (doc.profile !== undefined) {
    if (typeof doc.profile !== 'string') addError(errors, 'profile', 'type', 'Value is not of type string', 'string');
    else if (!PROFILE_RE.test(doc.profile)) addError(errors, 'profile', 'pattern', 'Must be 1-64 letters, digits, "_", "." or "-"');
  }
  if (Object.keys(errors).length > 0) throw new ValidationError(errors);
}

/** Applies Kazoo's defaults (a new object; nested role objects are completed, not replaced). */
export function withDefaults(doc: Json): Json {
  const out: Json = { ...doc };
  out.conference_numbers ??= [];
  out.play_name ??= false;
  for (const role of ['member', 'moderator'] as const) {
    const given = isObject(out[role]) ? (out[role] as Json) : {};
    out[role] = {
      join_muted: ROLE_DEFAULTS[role].join_muted,
      join_deaf: ROLE_DEFAULTS[role].join_deaf,
      numbers: [],
      pins: [],
      ...given,
    };
  }
  return out;
}

/** Strip, validate, default: what a create (PUT) or change (POST) stores. */
export function prepareDocument(input: Json): Json {
  const doc = stripReadOnly(input);
  validateConferenceDocument(doc);
  return withDefaults(doc);
}

/** JSON merge (RFC 7386): objects merge recursively, `null` deletes, anything else replaces. */
export function mergePatch(target: Json, patch: Json): Json {
  const out: Json = { ...target };
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else if (isObject(v) && isObject(out[k])) out[k] = mergePatch(out[k] as Json, v);
    else out[k] = v;
  }
  return out;
}

/** The `data` object of a request body, or a ValidationError naming `data`. */
export function requestData(body: unknown): Json {
  if (!isObject(body) || !('data' in body)) throw ValidationError.field('data', 'required', 'Field is required: the body must be {"data": {...}}');
  if (!isObject(body.data)) throw ValidationError.field('data', 'type', 'Value is not of type object', 'object');
  return body.data;
}

export function checkConferenceId(id: string, field = 'conference_id'): string {
  if (!CONFERENCE_ID_RE.test(id)) {
    throw ValidationError.field(field, 'pattern', 'Must be a conference name: 1-128 letters, digits, "_", ".", "+" or "-", not starting with "." "+" "-"');
  }
  if (RESERVED_CONFERENCE_NAMES.has(id.toLowerCase())) {
    throw ValidationError.field(field, 'reserved', `"${id}" is a reserved mod_conference keyword and cannot name a conference`);
  }
  return id;
}

/** Settings of a role, defaults applied (for the enforcer). */
export function roleSettings(doc: Json, moderator: boolean): { join_muted: boolean; join_deaf: boolean } {
  const role = moderator ? 'moderator' : 'member';
  const given = isObject(doc[role]) ? (doc[role] as Json) : {};
  return {
    join_muted: typeof given.join_muted === 'boolean' ? given.join_muted : ROLE_DEFAULTS[role].join_muted,
    join_deaf: typeof given.join_deaf === 'boolean' ? given.join_deaf : ROLE_DEFAULTS[role].join_deaf,
  };
}

/**
 * Kazoo's default conference tones (tone_stream strings from kazoo's conference app). A document
 * without play_entry_tone / play_exit_tone plays them (Kazoo defaults both to true).
 */
export const DEFAULT_ENTRY_TONE = 'tone_stream://v=-7;>=2;+=.1;%(300,0,523,659);v=-7;>=3;+=.1;%(800,0,659,783)';
export const DEFAULT_EXIT_TONE = 'tone_stream://v=-7;>=2;+=.1;%(300,0,523,440);v=-7;>=3;+=.1;%(800,0,349,440)';

/** The file to play for a tone setting, or undefined when disabled. */
export function toneFile(setting: unknown, fallback: string): string | undefined {
  if (setting === false) return undefined;
  if (typeof setting === 'string' && setting.length > 0) return setting;
  return fallback;
}
