/**
 * `npm run chaos`: the reliability run (tools/reliability/run.ts) with faults injected at every boundary
 * (tools/chaos/plan.ts, through the runner's fault injection): by default 1,000 payments across every test
 * token, duplicates, concurrent refunds (some refused, some failing at the processor), sent by
 * PaymentsClients that retry; then DESIGN §6 checked on the tables, queues and the processor's records. Prints
 * the table and writes it with the seed, the command and the machine to docs/RELIABILITY.md. Exit code 1 on
 * any violation.
 *
 *   npm run chaos -- [--seed N] [--payments N] [--concurrency N] [--rate X] [--throttle P] [--server-error P]
 *                    [--latency P] [--timeout P] [--response-lost P] [--kill P] [--freeze-every MS] [--freeze-for MS]
 *                    [--out FILE | --no-write]
 *
 * `--rate` multiplies every per-call rate (0 turns the per-call faults off); the freezes are separate.
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { runReliability } from '../reliability/run.ts';
import { CHAOS_ENVIRONMENTS_PER_FUNCTION, chaosPlan, DEFAULT_RATES } from './plan.ts';
import { clientTable, faultTable, reliabilityDocument, violationCount } from './report.ts';

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    payments: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '20' },
    rate: { type: 'string', default: '1' },
    throttle: { type: 'string' },
    'server-error': { type: 'string' },
    latency: { type: 'string' },
    timeout: { type: 'string' },
    'response-lost': { type: 'string' },
    kill: { type: 'string' },
    'freeze-every': { type: 'string' },
    'freeze-for': { type: 'string' },
    out: { type: 'string', default: 'docs/RELIABILITY.md' },
    'no-write': { type: 'boolean', default: false },
  },
});
const number = (value: string | undefined, fallback: number) => (value === undefined ? fallback : Number(value));
const seed = number(values.seed, Math.floor(Math.random() * 2 ** 31));
const rates = {
  throttle: number(values.throttle, DEFAULT_RATES.throttle),
  serverError: number(values['server-error'], DEFAULT_RATES.serverError),
  latency: number(values.latency, DEFAULT_RATES.latency),
  timeout: number(values.timeout, DEFAULT_RATES.timeout),
  responseLost: number(values['response-lost'], DEFAULT_RATES.responseLost),
  kill: number(values.kill, DEFAULT_RATES.kill),
  freeze: { everyMs: number(values['freeze-every'], DEFAULT_RATES.freeze.everyMs), forMs: number(values['freeze-for'], DEFAULT_RATES.freeze.forMs) },
};
const payments = number(values.payments, 1000);
// The command that replays this run: the seed and every flag given.
const given = process.argv.slice(2).filter((argument, index, all) => argument !== '--seed' && all[index - 1] !== '--seed' && !argument.startsWith('--seed='));
const command = `npm run chaos -- --seed ${seed}${given.length ? ` ${given.join(' ')}` : ''}`;
const startedAt = new Date();
console.log(`${command}`);

const report = await runReliability({
  payments,
  concurrency: number(values.concurrency, 20),
  // Faults (freezes above all) add their own delays to the emulation's throughput on 2 cores.
  terminalBoundMs: 180_000,
  deadlineMs: 600_000,
  // The runner scales the template's waits (the saga's ~90 s of processor retries) but not the faults, which
  // last wall-clock time against the functions' own SDK and Lambda timeouts. At 0.2 a 5 s freeze meets 18 s of
  // retries (on AWS a 5 s stall meets 90 s); at 0.02 every retry gave up within 2 s of a stall (seed 20261202:
  // 71 good cards failed), at 0.1 a flaky card, which spends two of its attempts by design, could still fail.
  timeScale: Number(process.env.PAYFLOW_TIME_SCALE ?? 0.2),
  seed,
  burstRefunds: 50,
  clientRetries: 10,
  faults: chaosPlan(seed, rates, number(values.rate, 1)),
  maxEnvironmentsPerFunction: CHAOS_ENVIRONMENTS_PER_FUNCTION,
  cdkOut: process.env.PAYFLOW_CDK_OUT,
  logFile: resolve('.payflow/chaos-local.log'),
  progress: (line) => console.log(line),
});
// The run printed its figures as it went; the faults and the clients' retries complete the table.
console.log(`\n${[...faultTable(report), '', ...clientTable(report), '', `violations: ${violationCount(report)}`].join('\n')}`);
if (!values['no-write']) {
  writeFileSync(resolve(values.out), reliabilityDocument(report, { command, seed, startedAt }));
  console.log(`\nWritten to ${values.out}`);
}
if (report.failed) console.log(`\nReplay this run: ${command}`);
process.exit(report.failed ? 1 : 0);
