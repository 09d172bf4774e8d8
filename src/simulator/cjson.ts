/**
 * cJSON_Print's formatted output, which `conference json_list` returns: objects open a new line
 * and indent their members with tabs, `"key":<TAB>value`; arrays stay on one line, `, `-separated.
 */
export type CJsonValue = string | number | boolean | null | CJsonValue[] | { [key: string]: CJsonValue };

export function cjsonPrint(value: CJsonValue): string {
  return printValue(value, 0);
}

function printValue(value: CJsonValue, depth: number): string {
  if (value === null) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return printNumber(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return printArray(value, depth);
  return printObject(value, depth);
}

function printNumber(n: number): string {
  if (Number.isInteger(n) && Math.abs(n) <= 2147483647) return String(n);
  if (!Number.isFinite(n)) return 'null';
  return Math.abs(Math.floor(n) - n) <= Number.EPSILON && Math.abs(n) < 1e60 ? n.toFixed(0) : String(n);
}

function printArray(items: CJsonValue[], depth: number): string {
  if (items.length === 0) return '[]';
  return '[' + items.map((v) => printValue(v, depth + 1)).join(', ') + ']';
}

function printObject(obj: { [key: string]: CJsonValue }, depth: number): string {
  const inner = depth + 1;
  const keys = Object.keys(obj);
  if (keys.length === 0) return '{\n' + '\t'.repeat(inner - 1) + '}';
  const tabs = '\t'.repeat(inner);
  const lines = keys.map((k) => `${tabs}${JSON.stringify(k)}:\t${printValue(obj[k]!, inner)}`);
  return '{\n' + lines.join(',\n') + '\n' + '\t'.repeat(inner - 1) + '}';
}
