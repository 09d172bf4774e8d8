/** Display formats (durations, clock times, callers). */

/** 75 → "1m15s", 3725 → "1h02m05s". */
export function duration(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, '0');
  if (h > 0) return `${h}h${pad(m)}m${pad(sec)}s`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}

/** Local wall-clock time, "14:03:07". */
export function clock(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** "Alice <1002>", or whichever part is known, or "member 7". */
export function caller(name: string, number: string, id: number): string {
  if (name && number) return `${name} <${number}>`;
  return name || number || `member ${id}`;
}
