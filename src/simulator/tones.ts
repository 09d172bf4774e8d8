/** How long FreeSWITCH takes to play a file, as the fixtures' play-file-done events report it. */

/**
 * tone_stream://%(on,off,freq...) segments: the fixtures' FreeSWITCH reports twice the tone's
 * on+off time (a 100 ms tone → milliseconds 200, a 500 ms tone → 1000). Files we cannot measure
 * take `fallbackMs`.
 */
export function playDurationMs(file: string, fallbackMs: number): number {
  if (!file.startsWith('tone_stream://')) return fallbackMs;
  let total = 0;
  const re = /%\((\d+),(\d+)(?:,[^)]*)?\)/g;
  for (let m = re.exec(file); m; m = re.exec(file)) total += Number(m[1]) + Number(m[2]);
  return total > 0 ? total * 2 : fallbackMs;
}

export interface PlayStats {
  seconds: number;
  milliseconds: number;
  samples: number;
}

export function playStats(ms: number, rate: number): PlayStats {
  return { seconds: Math.floor(ms / 1000), milliseconds: ms, samples: Math.round((ms * rate) / 1000) };
}
