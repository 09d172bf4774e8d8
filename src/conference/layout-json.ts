/**
 * JSON text of objects of one known layout (keys in a fixed order, each value of a known kind), byte
 * for byte what `JSON.stringify` gives, cheaper: the keys are written as constants fixed when the
 * layout is made, runs of flags fold into those constants, and only the values are looked at per
 * object. The participant event is serialized once per event this way.
 *
 * Exactness does not rest on the caller: an object is written from the layout only when its own keys,
 * in order, are the layout's (optional keys may be absent) followed by any others, its prototype is
 * Object.prototype with nothing enumerable on it, neither it nor an object value has a `toJSON`, and
 * every value is of its key's kind (a string, a number, a boolean, or an object written by
 * `JSON.stringify` itself). Anything else, and keys after the layout's whose values are not plain
 * strings, numbers, booleans or null, is written by `JSON.stringify` of the whole object.
 */

/** What a key's value is: written as JSON by the layout (`json`: an object, by JSON.stringify). */
export type LayoutKind = 'string' | 'number' | 'boolean' | 'json';

export interface LayoutKey {
  key: string;
  kind: LayoutKind;
  /** The key may be absent from an object (it is then left out, as JSON.stringify leaves it out). */
  optional?: boolean;
  /**
   * A string that is usually the same from one object to the next (the app's name, constants): a run
   * of such keys is written once and its text reused while every value in it is the same.
   */
  steady?: boolean;
}

/** A string needing an escape in JSON: `"`, `\`, a control character, a surrogate (lone ones are escaped). */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/** The JSON string literal of `s` without its quotes. */
function escapedInner(s: string): string {
  const quoted = JSON.stringify(s);
  return quoted.slice(1, quoted.length - 1);
}

/** Text of a value after the layout's keys, or undefined when only JSON.stringify of the whole can say. */
function plainValueText(v: unknown): string | undefined {
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v);
    case 'number':
      return Number.isFinite(v) ? `${v}` : 'null';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'object':
      return v === null ? 'null' : undefined;
    default:
      return undefined;
  }
}

/** Longest run of flags folded into one choice of constants (2^n constants). */
const MAX_FOLDED_FLAGS = 4;

/**
 * A function writing objects of the layout as `JSON.stringify` would. Generated once (`new Function`):
 * only the layout's keys, JSON-quoted, reach the generated source.
 */
export function layoutJson(layout: readonly LayoutKey[]): (o: Record<string, unknown>) => string {
  if (layout.length === 0) throw new Error('layoutJson: an empty layout');
  if (layout[0]!.optional) throw new Error('layoutJson: the first key must not be optional');
  if (new Set(layout.map((k) => k.key)).size !== layout.length) throw new Error('layoutJson: a key given twice');
  const q = (text: string): string => JSON.stringify(text);
  const lines: string[] = ['"use strict";'];
  const cached: number[] = [];
  const runs: number[][] = [];
  // A string value's text inside its quotes. The last value of the key found to need no escape is
  // remembered: most values repeat (this node's name, the same conference and call for a while), and
  // an equal one needs no test.
  const escaped = (j: number): string => {
    cached.push(j);
    return `(v${j} === last${j} ? v${j} : NEEDS_ESCAPE.test(v${j}) ? escapedInner(v${j}) : (last${j} = v${j}))`;
  };
  // 1. The keys: the layout's in order (absent optional ones skipped), then any others.
  lines.push(
    '  if (Object.getPrototypeOf(o) !== Object.prototype || typeof o.toJSON === "function") return JSON.stringify(o);',
    '  for (const k in Object.prototype) return JSON.stringify(o);',
    '  let at = 0;',
    '  let matched = 0;',
    '  let extra = false;',
  );
  layout.forEach((k, i) => {
    if (k.optional) lines.push(`  let has${i} = false;`);
  });
  lines.push('  for (const k in o) {', '    switch (at) {');
  layout.forEach((_k, i) => {
    // At position i: the key i, or (when it is optional) any later key up to the next required one.
    lines.push(`      case ${i}:`);
    for (let j = i; j < layout.length; j++) {
      const kj = layout[j]!;
      lines.push(`        if (k === ${q(kj.key)}) { at = ${j + 1}; matched++;${kj.optional ? ` has${j} = true;` : ''} continue; }`);
      if (!kj.optional) break;
    }
    lines.push('        break;');
  });
  // A key that is not the layout's next one: fine only once every required key was seen.
  const lastRequired = layout.reduce((last, k, i) => (k.optional ? last : i), -1);
  lines.push('    }', '    extra = true;', '    break;', '  }', `  if (at <= ${lastRequired}) return JSON.stringify(o);`);
  // 2. The values, checked against their kinds, each read once.
  layout.forEach((k, i) => {
    const check = {
      string: `typeof v${i} !== "string"`,
      number: `typeof v${i} !== "number"`,
      boolean: `typeof v${i} !== "boolean"`,
      json: `typeof v${i} !== "object" || v${i} === null || typeof v${i}.toJSON === "function"`,
    }[k.kind];
    if (k.optional) lines.push(`  const v${i} = has${i} ? o[${q(k.key)}] : undefined;`, `  if (has${i} && (${check})) return JSON.stringify(o);`);
    else lines.push(`  const v${i} = o[${q(k.key)}];`, `  if (${check}) return JSON.stringify(o);`);
  });
  // 3. The text: constants (flags folded in) and values between them, concatenated in order.
  // `pending` is the constant text not yet emitted; a string value's quotes belong to the constants.
  const parts: string[] = [];
  let pending = '{';
  const flush = (): void => {
    if (pending !== '') parts.push(q(pending));
    pending = '';
  };
  let i = 0;
  while (i < layout.length) {
    const k = layout[i]!;
    const prefix = `${i === 0 ? '' : ','}${q(k.key)}:`;
    if (k.optional) {
      flush();
      parts.push(`(has${i} ? ${q(prefix)} + ${valueExpr(k.kind, `v${i}`)} : "")`);
      i++;
    } else if (k.kind === 'boolean') {
      // A run of required flags: one constant per combination, the pending text in each.
      const run: number[] = [];
      while (i < layout.length && run.length < MAX_FOLDED_FLAGS && layout[i]!.kind === 'boolean' && !layout[i]!.optional) run.push(i++);
      const choose = (n: number, text: string): string => {
        if (n === run.length) return q(text);
        const j = run[n]!;
        const p = `${j === 0 ? '' : ','}${q(layout[j]!.key)}:`;
        return `(v${j} ? ${choose(n + 1, `${text}${p}true`)} : ${choose(n + 1, `${text}${p}false`)})`;
      };
      parts.push(choose(0, pending));
      pending = '';
    } else if (k.kind === 'string') {
      pending += `${prefix}"`;
      flush();
      const run = [i++];
      if (k.steady) while (i < layout.length && layout[i]!.kind === 'string' && layout[i]!.steady && !layout[i]!.optional) run.push(i++);
      // From the first value to the last, without their outer quotes (the constants' own).
      const inner = run.map((j, n) => (n === 0 ? '' : `${q(`",${q(layout[j]!.key)}:"`)} + `) + escaped(j)).join(' + ');
      if (run.length === 1) parts.push(inner);
      else {
        // A steady run: its text kept with the values it was written from, reused while they are the same.
        const r = runs.length;
        runs.push(run);
        parts.push(`(${run.map((j, n) => `v${j} === run${r}v${n}`).join(' && ')} ? run${r}text : (${run.map((j, n) => `run${r}v${n} = v${j}, `).join('')}run${r}text = ${inner}))`);
      }
      pending = '"';
    } else {
      pending += prefix;
      flush();
      parts.push(valueExpr(k.kind, `v${i}`));
      i++;
    }
  }
  flush();
  lines.push(`  let out = ${parts.join(' + ')};`);
  lines.splice(
    1,
    0,
    ...cached.map((c) => `let last${c} = "";`),
    ...runs.flatMap((run, r) => [...run.map((_j, n) => `let run${r}v${n};`), `let run${r}text = "";`]),
    'return function layoutJson(o) {',
  );
  // 4. Keys after the layout's, as JSON.stringify writes them (for-in meets only own keys here).
  lines.push(
    '  if (extra) {',
    '    let seen = 0;',
    '    for (const k in o) {',
    '      if (seen++ < matched) continue;',
    '      const t = plainValueText(o[k]);',
    '      if (t === undefined) return JSON.stringify(o);',
    '      out += "," + JSON.stringify(k) + ":" + t;',
    '    }',
    '  }',
    '  return out + "}";',
    '};',
  );
  const make = new Function('NEEDS_ESCAPE', 'escapedInner', 'plainValueText', lines.join('\n')) as (
    needsEscape: RegExp,
    inner: (s: string) => string,
    plain: (v: unknown) => string | undefined,
  ) => (o: Record<string, unknown>) => string;
  return make(NEEDS_ESCAPE, escapedInner, plainValueText);
}

/** A value of a kind as JSON text, by expression (`v` is a variable of the generated function). */
function valueExpr(kind: LayoutKind, v: string): string {
  switch (kind) {
    case 'number':
      return `(Number.isFinite(${v}) ? "" + ${v} : "null")`;
    case 'boolean':
      return `(${v} ? "true" : "false")`;
    case 'string':
    case 'json':
      return `JSON.stringify(${v})`;
  }
}
