/**
 * `npm run fuzz -- --runs 10000 --seed N`: the HTTP fuzzing of test/acceptance/fuzz.test.ts at full size,
 * through the acceptance suite's harness (its global setup starts the twin; PAYFLOW_TARGET=aws with
 * PAYFLOW_OUTPUTS_FILE runs it against a deployed stack). Prints the seed first; a failure is replayed
 * by running again with the same --runs and --seed.
 */
import { parseArgs } from 'node:util';
import { runAcceptanceFile } from '../acceptance-file.ts';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '10000' }, seed: { type: 'string' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  console.log('npm run fuzz -- [--runs 10000] [--seed N]   (PAYFLOW_TARGET=aws PAYFLOW_OUTPUTS_FILE=... for a deployed stack)');
  process.exit(0);
}
const runs = Number(values.runs);
if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, not ${values.runs}`);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
if (!Number.isInteger(seed)) throw new Error(`--seed must be an integer, not ${values.seed}`);
console.log(`fuzz: ${runs} runs, seed ${seed}`);
const code = await runAcceptanceFile('test/acceptance/fuzz.test.ts', { PAYFLOW_FUZZ_RUNS: String(runs), PAYFLOW_FUZZ_SEED: String(seed) });
console.log(`fuzz: seed ${seed} ${code === 0 ? 'passed' : `FAILED (replay: npm run fuzz -- --runs ${runs} --seed ${seed})`}`);
process.exit(code);
