/**
 * `npm run storm -- --requests 1000`: the duplicate storms of test/acceptance/storm.test.ts at full size,
 * through the acceptance suite's harness (its global setup starts the twin; PAYFLOW_TARGET=aws with
 * PAYFLOW_OUTPUTS_FILE runs it against a deployed stack). Prints each storm's tally of answers.
 */
import { parseArgs } from 'node:util';
import { runAcceptanceFile } from '../acceptance-file.ts';

const { values } = parseArgs({ options: { requests: { type: 'string', default: '1000' }, help: { type: 'boolean', default: false } } });
if (values.help) {
  console.log('npm run storm -- [--requests 1000]   (PAYFLOW_TARGET=aws PAYFLOW_OUTPUTS_FILE=... for a deployed stack)');
  process.exit(0);
}
const requests = Number(values.requests);
if (!Number.isInteger(requests) || requests < 2) throw new Error(`--requests must be an integer of at least 2, not ${values.requests}`);
process.exit(await runAcceptanceFile('test/acceptance/storm.test.ts', { PAYFLOW_STORM_REQUESTS: String(requests) }));
