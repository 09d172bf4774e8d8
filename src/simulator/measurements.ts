/**
 * Figures FreeSWITCH measures from audio (the talking detector, a recording's length). The simulator
 * has no audio, so these are plausible values derived from time; the conformance test normalizes them.
 */
import type { Header } from './event.js';

/** stop_talking_handler's statistics for a talk spurt of `durationMs` (20 ms packets). */
export function talkingStats(durationMs: number, energyLevel: number): Header[] {
  const packets = Math.max(1, Math.round(durationMs / 20));
  const hits = Math.max(1, Math.round(packets * 0.65));
  const hitOn = (hits / packets) * 100;
  const hitOff = (1 / packets) * 100;
  return [
    ['talking-gate-hits', String(hits)],
    ['talking-total-packets', String(packets)],
    ['talking-duration-ms', String(durationMs)],
    ['talking-average-energy', (energyLevel * 60).toFixed(6)],
    ['talking-delta-average', energyLevel.toFixed(6)],
    ['talking-hit-on-percent', hitOn.toFixed(6)],
    ['talking-non-hit-ratio', (((packets - hits) / hits) * 2.5).toFixed(6)],
    ['talking-hit-off-percent', hitOff.toFixed(6)],
    ['talking-hit-off-differential', (hitOn - hitOff).toFixed(6)],
  ];
}

/** What the energy detector reads off a tone or voice (the fixtures show 4000-7000). */
export function toneEnergy(seed: number): number {
  return 4000 + (Math.abs(Math.floor(seed)) % 3000);
}

/** stop-recording's Samples-Out / Milliseconds-Elapsed / Record-File-Size for 16-bit mono WAV. */
export function recordingStats(elapsedMs: number, rate: number): Header[] {
  const samples = Math.round((elapsedMs * rate) / 1000);
  return [
    ['Samples-Out', String(samples)],
    ['Samplerate', String(rate)],
    ['Milliseconds-Elapsed', String(elapsedMs)],
    ['Record-File-Size', String(samples * 2 + 142)],
  ];
}
