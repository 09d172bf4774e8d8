/**
 * Every field of a conference member, described once: the ESL header(s) of FreeSWITCH's member
 * events, the name in `conference json_list` / `xml_list`, the name in Kazoo's formats (the
 * participant event and the `_read_only` view), how a change of it is told after a resync, and how it
 * takes part in comparisons. Header parsing (events.ts), the listings (json-list.ts), payloads
 * (payload.ts), the registry's comparison and synthesis and the `_read_only` view (src/state) loop
 * over this table: a new field is its MemberState key plus one row here.
 *
 * Each output has its own key order, fixed by what it imitates, and they differ: rows are in the
 * order synthesized events write their headers; `payloadAt` / `readOnlyAt` / `change.at` give a
 * field's place in the participant event, the `_read_only` participant and the events a resync tells
 * for one member (places shared with the format's own, non-member keys: see payload.ts and
 * state/read-only-view.ts).
 */
import type { MemberState } from './types.js';

/** MemberState keys that are member fields (channel data — variables, name, presence — is not). */
export type MemberFieldKey = Exclude<keyof MemberState, 'channelVars' | 'channelName' | 'presenceId'>;

/** How a value is written: `flag` true/false, `int` decimal digits, `text` as is. */
export type FieldType = 'flag' | 'int' | 'text';

/** What a resync synthesizes when a listing shows the field changed. */
export type ChangeEvents =
  /** One action when it became true, another when it became false; `at`: place among one member's events. */
  | { set: string; unset: string; at: number }
  /** One action for any new value. */
  | { any: string; at: number }
  /** Told once per conference after its members (the floor moves from one member to another). */
  | 'floor-change';

interface FieldSpec<V> {
  type: V extends boolean ? 'flag' : V extends number ? 'int' : 'text';
  /** Header(s) of member events: the first one present is read; synthesized events write the first. */
  header: string | readonly [string, ...string[]];
  /** A fresh member's value: what a field missing from an event or a listing means. */
  fresh: V;
  /** FreeSWITCH words the value itself (Member-Type: `moderator` / `member`) instead of true/false. */
  wording?: { parse(text: string): V; write(value: V): string };
  /**
   * Where json_list and xml_list have it: a key of the member's `flags` object, or of the member.
   * Absent: listings do not carry it; a resync keeps the value the last event gave.
   */
  list?: { flag: string } | { key: string };
  /** Its name in Kazoo's formats (participant event, `_read_only` participant). */
  kazoo?: string;
  /** Place in the participant event (Kazoo's order). */
  payloadAt?: number;
  /** Place in a `_read_only` participant (Kazoo's order). */
  readOnlyAt?: number;
  /** A received event that leaves it empty keeps what we knew (not every event repeats the caller id). */
  sticky?: true;
  /** Moves all the time: not a change of the member (never compared, never told). */
  volatile?: true;
  /** Absent: a change is told as `member-update` (no FreeSWITCH action names it). */
  change?: ChangeEvents;
}

const FIELDS = {
  memberId: { type: 'int', header: 'Member-ID', fresh: 0, list: { key: 'id' }, kazoo: 'participant_id', payloadAt: 12, readOnlyAt: 9 },
  isModerator: {
    type: 'flag',
    header: 'Member-Type',
    fresh: false,
    wording: { parse: (text: string) => text.toLowerCase() === 'moderator', write: (moderator: boolean) => (moderator ? 'moderator' : 'member') },
    list: { flag: 'is_moderator' },
    kazoo: 'is_moderator',
    payloadAt: 25,
    readOnlyAt: 13,
  },
  ghost: { type: 'flag', header: 'Member-Ghost', fresh: false, list: { flag: 'is_ghost' } },
  callId: { type: 'text', header: ['Unique-ID', 'Caller-Unique-ID'], fresh: '', list: { key: 'uuid' }, kazoo: 'call_id', payloadAt: 16, readOnlyAt: 0 },
  callerIdName: {
    type: 'text',
    header: 'Caller-Caller-ID-Name',
    fresh: '',
    list: { key: 'caller_id_name' },
    kazoo: 'caller_id_name',
    payloadAt: 3,
    sticky: true,
  },
  callerIdNumber: {
    type: 'text',
    header: 'Caller-Caller-ID-Number',
    fresh: '',
    list: { key: 'caller_id_number' },
    kazoo: 'caller_id_number',
    payloadAt: 2,
    sticky: true,
  },
  floor: {
    type: 'flag',
    header: 'Floor',
    fresh: false,
    list: { flag: 'has_floor' },
    kazoo: 'floor',
    payloadAt: 11,
    readOnlyAt: 4,
    change: 'floor-change',
  },
  video: { type: 'flag', header: 'Video', fresh: false, list: { flag: 'has_video' }, kazoo: 'video', payloadAt: 5, readOnlyAt: 12 },
  hear: {
    type: 'flag',
    header: 'Hear',
    fresh: true,
    list: { flag: 'can_hear' },
    kazoo: 'hear',
    payloadAt: 10,
    readOnlyAt: 5,
    change: { set: 'undeaf-member', unset: 'deaf-member', at: 1 },
  },
  see: { type: 'flag', header: 'See', fresh: true, list: { flag: 'can_see' } },
  speak: {
    type: 'flag',
    header: 'Speak',
    fresh: true,
    list: { flag: 'can_speak' },
    kazoo: 'speak',
    payloadAt: 9,
    readOnlyAt: 6,
    change: { set: 'unmute-member', unset: 'mute-member', at: 0 },
  },
  talking: {
    type: 'flag',
    header: 'Talking',
    fresh: false,
    list: { flag: 'talking' },
    kazoo: 'talking',
    payloadAt: 8,
    readOnlyAt: 7,
    change: { set: 'start-talking', unset: 'stop-talking', at: 3 },
  },
  muteDetect: {
    type: 'flag',
    header: 'Mute-Detect',
    fresh: false,
    list: { flag: 'mute_detect' },
    kazoo: 'mute_detect',
    payloadAt: 4,
    readOnlyAt: 8,
  },
  hold: { type: 'flag', header: 'Hold', fresh: false, list: { flag: 'hold' }, change: { set: 'hold-member', unset: 'unhold-member', at: 2 } },
  energyLevel: {
    type: 'int',
    header: 'Energy-Level',
    fresh: 0,
    list: { key: 'energy' },
    kazoo: 'energy_level',
    payloadAt: 6,
    readOnlyAt: 10,
    change: { any: 'energy-level-member', at: 4 },
  },
  currentEnergy: { type: 'int', header: 'Current-Energy', fresh: 0, kazoo: 'current_energy', payloadAt: 7, readOnlyAt: 11, volatile: true },
} as const satisfies { [K in MemberFieldKey]: FieldSpec<MemberState[K]> };

type Fields = typeof FIELDS;

/** The member fields json_list / xml_list carry (ListedMember has them under the same keys). */
export type ListedFieldKey = { [K in MemberFieldKey]: Fields[K] extends { list: object } ? K : never }[MemberFieldKey];

/** The member fields of a Kazoo format (those with a place in it), typed, under their Kazoo names. */
export type KazooMemberFields<P extends 'payloadAt' | 'readOnlyAt'> = {
  [K in MemberFieldKey as Fields[K] extends { kazoo: infer N extends string } & { [X in P]: number } ? N : never]: MemberState[K];
};

/** One row of the table, with its MemberState key; every property present (rows share one shape). */
export interface MemberField {
  key: MemberFieldKey;
  type: FieldType;
  /** `header` as a list. */
  headers: readonly string[];
  fresh: boolean | number | string;
  wording: { parse(text: string): boolean; write(value: boolean): string } | undefined;
  list: { flag: string } | { key: string } | undefined;
  kazoo: string | undefined;
  payloadAt: number | undefined;
  readOnlyAt: number | undefined;
  sticky: boolean;
  volatile: boolean;
  change: ChangeEvents | undefined;
}

/** Every member field, in the order synthesized events write their headers. */
export const MEMBER_FIELDS: readonly MemberField[] = Object.entries(FIELDS).map(([key, spec]: [string, FieldSpec<boolean | number | string>]) => ({
  key: key as MemberFieldKey,
  type: spec.type as FieldType,
  headers: typeof spec.header === 'string' ? [spec.header] : spec.header,
  fresh: spec.fresh,
  wording: spec.wording as MemberField['wording'],
  list: spec.list,
  kazoo: spec.kazoo,
  payloadAt: spec.payloadAt,
  readOnlyAt: spec.readOnlyAt,
  sticky: spec.sticky === true,
  volatile: spec.volatile === true,
  change: spec.change,
}));

/** Fields that make a member different when they differ (all but the volatile ones). */
export const COMPARED_FIELDS: readonly MemberField[] = MEMBER_FIELDS.filter((f) => !f.volatile);

/** Fields json_list / xml_list carry. */
export const LISTED_FIELDS: readonly MemberField[] = MEMBER_FIELDS.filter((f) => f.list !== undefined);

/** Fields a received event does not blank out (see `sticky`). */
export const STICKY_FIELDS: readonly MemberField[] = MEMBER_FIELDS.filter((f) => f.sticky);

/** Fields whose change a resync tells with their own actions, in the order it tells them. */
export const CHANGE_FIELDS: readonly (MemberField & { change: Exclude<ChangeEvents, 'floor-change'> })[] = MEMBER_FIELDS.filter(
  (f): f is MemberField & { change: Exclude<ChangeEvents, 'floor-change'> } => typeof f.change === 'object',
).sort((a, b) => a.change.at - b.change.at);

/** Every header name a member field is read from. */
export const MEMBER_HEADERS: ReadonlySet<string> = new Set(MEMBER_FIELDS.flatMap((f) => f.headers));

/** A field's value, by row. */
export function fieldValue(m: Readonly<Partial<MemberState>>, f: MemberField): boolean | number | string | undefined {
  return (m as Readonly<Record<string, boolean | number | string | undefined>>)[f.key];
}

/** Sets a field's value, by row. */
export function setField(m: Partial<MemberState>, f: MemberField, value: boolean | number | string): void {
  (m as Record<string, unknown>)[f.key] = value;
}

/** Whether `a` and `b` hold the same value in every one of `fields`. */
export function agree(a: Readonly<Partial<MemberState>>, b: Readonly<Partial<MemberState>>, fields: readonly MemberField[]): boolean {
  for (const f of fields) if (fieldValue(a, f) !== fieldValue(b, f)) return false;
  return true;
}

/**
 * `agree` over a fixed list of fields, generated once as one expression (`a.k === b.k && …`, in the
 * list's order): a loop reads each field by a varying key, which V8 cannot make as fast as fixed
 * property reads, and the registry compares a member on every event. Only the table's MemberState
 * keys, JSON-quoted, reach the generated source.
 */
export function agreement(fields: readonly MemberField[]): (a: Readonly<Partial<MemberState>>, b: Readonly<Partial<MemberState>>) => boolean {
  const terms = fields.map((f) => `a[${JSON.stringify(f.key)}] === b[${JSON.stringify(f.key)}]`);
  const body = `"use strict";\nreturn ${terms.length > 0 ? terms.join(' && ') : 'true'};`;
  return new Function('a', 'b', body) as (a: Readonly<Partial<MemberState>>, b: Readonly<Partial<MemberState>>) => boolean;
}

/** The value as a member event's header says it (`String(value)`, or the field's own wording). */
export function headerText(f: MemberField, value: boolean | number | string): string {
  return f.wording ? f.wording.write(value as boolean) : String(value);
}

/**
 * One key of an object built with a fixed key order: a member field (`field`, read from the member)
 * or a value of its own (`value`). An `optional` key is left out when its value is undefined.
 */
export interface Slot<A, B> {
  key: string;
  optional?: true;
  value?: (a: A, b: B) => unknown;
  field?: MemberFieldKey;
}

/** A key of a Kazoo format at its place (see kazooLayout). */
export interface PlacedSlot<A, B> extends Slot<A, B> {
  at: number;
}

/**
 * The keys of a Kazoo format, in order: the member fields that have a place in it (under their Kazoo
 * name) merged with the format's own keys. Throws on two keys at one place (a mistake in the table,
 * found when the module loads).
 */
export function kazooLayout<A, B>(place: 'payloadAt' | 'readOnlyAt', own: readonly PlacedSlot<A, B>[]): Slot<A, B>[] {
  const slots: PlacedSlot<A, B>[] = [...own];
  for (const f of MEMBER_FIELDS) {
    const at = f[place];
    if (at !== undefined && f.kazoo !== undefined) slots.push({ key: f.kazoo, at, field: f.key });
  }
  slots.sort((x, y) => x.at - y.at);
  for (let i = 1; i < slots.length; i++) {
    if (slots[i]!.at === slots[i - 1]!.at) throw new Error(`${place}: ${slots[i - 1]!.key} and ${slots[i]!.key} share place ${slots[i]!.at}`);
  }
  return slots.map(({ at: _at, ...slot }) => slot);
}

/**
 * A function building objects with the slots' keys in their order, from (a, b) and, for member
 * fields, the member `memberOf(a, b)`. Generated once (`new Function`) as one object literal: V8
 * builds a literal with fixed keys far faster than an object filled key by key, and these builders
 * run once per event. Only keys and member field names from this module's tables, JSON-quoted, reach
 * the generated source; the values come from the slots' functions and the member.
 */
export function objectBuilder<A, B>(
  slots: readonly Slot<A, B>[],
  memberOf?: (a: A, b: B) => Readonly<Partial<MemberState>>,
): (a: A, b: B) => Record<string, unknown> {
  // `__proto__` in a literal would set the prototype instead of a key.
  if (slots.some((s) => s.key === '__proto__')) throw new Error('objectBuilder: __proto__ is not a key it can build');
  const own = slots.filter((s) => s.value !== undefined);
  const lines = ['"use strict";', 'return function build(a, b) {'];
  if (slots.some((s) => s.field !== undefined)) {
    if (!memberOf) throw new Error('objectBuilder: member fields need memberOf');
    lines.push('  const m = memberOf(a, b);');
  }
  // Own values in slot order, before the literal: callers' functions run in the order of the keys.
  own.forEach((_s, i) => lines.push(`  const v${i} = own[${i}].value(a, b);`));
  const valueOf = (s: Slot<A, B>): string => (s.field !== undefined ? `m[${JSON.stringify(s.field)}]` : `v${own.indexOf(s)}`);
  const literal = (omit: ReadonlySet<Slot<A, B>>): string =>
    `{ ${slots
      .filter((s) => !omit.has(s))
      .map((s) => `${JSON.stringify(s.key)}: ${valueOf(s)}`)
      .join(', ')} }`;
  // One literal per combination of the optional keys present (a literal's keys are fixed).
  const choose = (optional: readonly Slot<A, B>[], omit: ReadonlySet<Slot<A, B>>): string => {
    if (optional.length === 0) return literal(omit);
    const [first, ...rest] = optional;
    return `(${valueOf(first!)} === undefined ? ${choose(rest, new Set([...omit, first!]))} : ${choose(rest, omit)})`;
  };
  lines.push(`  return ${choose(slots.filter((s) => s.optional === true), new Set())};`, '};');
  type Make = (own: readonly Slot<A, B>[], memberOf: unknown) => (a: A, b: B) => Record<string, unknown>;
  const make = new Function('own', 'memberOf', lines.join('\n')) as Make;
  return make(own, memberOf);
}
