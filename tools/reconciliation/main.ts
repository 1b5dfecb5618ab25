/**
 * npm run reconciliation:report -- [--day YYYY-MM-DD] [--outputs-file .payflow/outputs.local.json] [--stack Payflow]
 *
 * Prints the daily reconciliation's report of a day (default: yesterday, UTC — the day the scheduled
 * run covers) for the stack an outputs file names: the twin's (`npm start`, the default) or a deployed
 * one's (`cdk deploy --outputs-file ...`, read with your AWS credentials). Exit code 1 when the day has
 * discrepancies, 2 when it has no report.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consoleClients, consoleStack, readOutputsFile } from '../console/stack.ts';
import { formatReport, readDailyReport } from './report.ts';

const { values: args } = parseArgs({
  options: {
    day: { type: 'string', default: new Date(Date.now() - 86_400_000).toISOString().slice(0, 10) },
    'outputs-file': { type: 'string', default: '.payflow/outputs.local.json' },
    stack: { type: 'string', default: 'Payflow' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('npm run reconciliation:report -- [--day YYYY-MM-DD (default yesterday, UTC)] [--outputs-file .payflow/outputs.local.json] [--stack Payflow]');
  process.exit(0);
}
if (!/^\d{4}-\d{2}-\d{2}$/.test(args.day)) {
  console.error(`--day must be YYYY-MM-DD, got ${args.day}`);
  process.exit(64);
}

const { stackName, outputs } = readOutputsFile(resolve(args['outputs-file']), args.stack);
const tableName = outputs.DailyReportsTableName;
if (!tableName) throw new Error(`The outputs of ${stackName} have no DailyReportsTableName: deploy (or npm start) a stack with the daily reconciliation`);
const clients = consoleClients(consoleStack(stackName, outputs), outputs);
try {
  const report = await readDailyReport(clients.dynamodb, tableName, args.day);
  console.log(formatReport(report));
  const discrepancies = report.counts ? Object.values(report.counts.discrepancies).reduce((sum, n) => sum + n, 0) : 0;
  process.exitCode = !report.counts ? 2 : discrepancies > 0 ? 1 : 0;
} finally {
  clients.destroy();
}
