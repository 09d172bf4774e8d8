/**
 * Long differential run of the selective ESL ingest: `npm run fuzz -- ingest [--frames 1000000 --seed N]`.
 * Mutates real FreeSWITCH frames (plain, json, and the json events as xml; json bodies also with JSON's own
 * tokens, framed again) and checks every event frame
 * with test/fuzz/ingest-differential-core.ts until `--frames` event frames were compared (json frames twice:
 * as decodeEvent reads them, and through the json header index, decodeJsonEventSelectively). Exits 1 on the
 * first mismatch with the seed and the input that replay it.
 */
import { parseArgs } from 'node:util';
import { fuzzCorpus, rng } from '../test/fuzz/codec-fuzz-core.js';
import { IngestMismatchError, checkIngestInput, mutateIngest, newStats } from '../test/fuzz/ingest-differential-core.js';

export function runIngestFuzz(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: { frames: { type: 'string', default: '1000000' }, seed: { type: 'string', default: String(Date.now() % 1e9) } },
  });
  const target = Number(values.frames);
  const seed = Number(values.seed);
  const corpus = fuzzCorpus();
  const next = rng(seed);
  const stats = newStats();
  const started = process.hrtime.bigint();
  let inputs = 0;
  let reported = 0;
  while (stats.events < target) {
    const input = mutateIngest(corpus, next);
    inputs++;
    try {
      checkIngestInput(input, next, stats);
    } catch (err) {
      if (err instanceof IngestMismatchError) {
        console.error(`MISMATCH at input ${inputs} (seed ${seed}): ${err.message}`);
        console.error(`input (base64): ${input.toString('base64')}`);
        process.exit(1);
      }
      throw err;
    }
    if (stats.events - reported >= 50_000) {
      reported = stats.events;
      process.stderr.write(`  ${stats.events} frames...\n`);
    }
  }
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`ingest differential fuzz: ${stats.events} event frames from ${inputs} mutated inputs (${corpus.length} fixture frames), seed ${seed}`);
  console.log(`  by type: ${Object.entries(stats.byType).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  console.log(`  read through the selective index: ${Object.entries(stats.selective).map(([t, n]) => `${t} ${n}`).join(', ')}`);
  console.log(`  ${stats.rejected} rejected by both decoders with the same error, ${stats.conference} conference events compared field by field and as payloads`);
  const j = stats.jsonIndex;
  if (j !== undefined) {
    console.log(`  json frames also read with the json index (decodeJsonEventSelectively): ${j.events}, ${j.selective['text/event-json'] ?? 0} through the index, ${j.rejected} rejected by both, ${j.conference} conference events compared`);
  }
  console.log(`  ${(stats.events / seconds).toFixed(0)} frames/s over ${seconds.toFixed(1)} s; 0 mismatches`);
}
