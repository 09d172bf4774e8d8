/**
 * Long codec fuzz run: `npm run fuzz [-- --inputs 1000000 --seed N]`; `npm run fuzz -- ingest …` runs the
 * selective-ingest differential instead (scripts/fuzz-ingest.ts).
 * Mutates real FreeSWITCH frames from the fixtures and checks the invariants of test/fuzz/codec-fuzz-core.ts
 * on each input. Prints inputs/s, how many inputs were errors, and memory; exits 1 on the first violation
 * with the seed that replays it.
 */
import { parseArgs } from 'node:util';
import { checkInput, fuzzCorpus, mutate, rng, FuzzInvariantError } from '../test/fuzz/codec-fuzz-core.js';
import { runIngestFuzz } from './fuzz-ingest.js';

if (process.argv[2] === 'ingest') {
  runIngestFuzz(process.argv.slice(3));
  process.exit(0);
}

const { values } = parseArgs({ options: { inputs: { type: 'string', default: '1000000' }, seed: { type: 'string', default: String(Date.now() % 1e9) } } });
const inputs = Number(values.inputs);
const seed = Number(values.seed);
const frames = fuzzCorpus();
const next = rng(seed);
const started = process.hrtime.bigint();
let errors = 0;
let maxRss = 0;
for (let i = 0; i < inputs; i++) {
  const input = mutate(frames, next);
  try {
    if (checkInput(input, next).error) errors++;
  } catch (err) {
    if (err instanceof FuzzInvariantError) {
      console.error(`VIOLATION at input ${i} (seed ${seed}): ${err.message}`);
      console.error(`input (base64): ${input.toString('base64')}`);
      process.exit(1);
    }
    throw err;
  }
  if (i % 50_000 === 0) {
    maxRss = Math.max(maxRss, process.memoryUsage().rss);
    if (i > 0) process.stderr.write(`  ${i} inputs...\n`);
  }
}
const seconds = Number(process.hrtime.bigint() - started) / 1e9;
maxRss = Math.max(maxRss, process.memoryUsage().rss);
console.log(`codec fuzz: ${inputs} inputs from ${frames.length} fixture frames, seed ${seed}`);
console.log(`  ${(inputs / seconds).toFixed(0)} inputs/s over ${seconds.toFixed(1)} s`);
console.log(`  ${errors} inputs rejected with EslProtocolError, ${inputs - errors} parsed; 0 invariant violations`);
console.log(`  max RSS ${(maxRss / 1048576).toFixed(1)} MiB`);
