/**
 * The flow as a whole, on the twin as `npm start` runs it: idle CPU, one payment on an idle twin, DynamoDB
 * Local's raw conditional-write rate and the payments/s limit it implies, then increasing offered loads
 * over HTTP with the sustained rate of payments reaching `succeeded` and their time to terminal.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPayments, postPayment, processTreeCpu, rawConditionalWriteRate, readPayments, startTwin, treeCpuDuring, waitTerminal, type IdleCpu } from './twin.ts';

/** The concurrency of the raw write rate: Lambda's default concurrency per function on the twin (10; its environments are fewer, lambda/runtime.ts). */
export const TWIN_CONCURRENCY = 10;
const IDLE_SECONDS = Number(process.env.BENCH_IDLE_SECONDS ?? 30);
/** The runner's pollers and queues count as quiet 10 s after their last traffic: measured once they are. */
const SETTLE_SECONDS = 15;
const RAW_SECONDS = 5;
const LOAD_SECONDS = Number(process.env.BENCH_LOAD_SECONDS ?? 10);
const LOAD_FRACTIONS = [0.1, 0.25, 0.5, 0.75, 1];
/** Two merchants of the standard tier: 50 requests/s each by their usage plans. */
const MAX_OFFERED_PER_SECOND = 95;
const DRAIN_TIMEOUT_MS = 120_000;
const SINGLE_PAYMENTS = 7;

export interface LoadResult {
  offeredPerSecond: number;
  sent: number;
  accepted: number;
  succeeded: number;
  otherStatuses: Record<string, number>;
  sustainedPerSecond: number;
  /** Created → succeeded in the table. */
  p50Ms: number;
  p99Ms: number;
  /** The POST sent → succeeded in the table: with the wait at the API when the twin falls behind. */
  fromPost: { p50Ms: number; p99Ms: number };
  /** CPU milliseconds of the twin's processes per succeeded payment, by command (node: the runner and its functions; java: DynamoDB Local). */
  cpuMsPerPayment: Record<string, number>;
}

export interface FlowResults {
  idle: IdleCpu;
  single: { coldMs: number; warmMs: number[]; warmClientMs: number[] };
  raw: { perSecond: number; concurrency: number };
  callsPerPayment: number;
  limitPerSecond: number;
  loads: LoadResult[];
}

const body = (description: string) => ({ amount: 2500, currency: 'EUR', source: 'tok_success', description });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export function percentile(samples: number[], p: number): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

export async function benchFlow(options: { projectDir: string; cdkOut?: string; callsPerPayment: number; print: (line?: string) => void }): Promise<FlowResults> {
  const { print } = options;
  const dir = mkdtempSync(join(tmpdir(), 'payflow-bench-twin-'));
  print('\nStarting the twin (npm start) ...');
  const twin = await startTwin({ projectDir: options.projectDir, cdkOut: options.cdkOut, outputsFile: join(dir, 'outputs.json'), logFile: join(dir, 'local.log') });
  try {
    await sleep(SETTLE_SECONDS * 1000);
    const idle = await processTreeCpu(twin.pid, IDLE_SECONDS);
    print(`\nIdle twin: npm start with no traffic, ${idle.seconds.toFixed(0)} s from ${SETTLE_SECONDS} s after it was ready, CPU time of its process tree from /proc (budget < 3 % of a core):`);
    print(`  all processes  ${idle.totalPercent.toFixed(2)} % of a core`);
    for (const [command, percent] of Object.entries(idle.byCommand).sort((a, b) => b[1] - a[1])) print(`    ${command.padEnd(14)} ${percent.toFixed(2)} %`);

    // One payment at a time on the idle twin: the first pays the functions' cold starts.
    const [key] = twin.apiKeys;
    const single = async (n: number) => {
      const sent = Date.now();
      const response = await postPayment(twin.apiUrl, key!, `bench-single-${n}-${sent}`, body('bench single'));
      if (response.status !== 201 || !response.id) throw new Error(`POST /payments answered ${response.status}`);
      const outcome = await waitTerminal(twin.dynamodbEndpoint, twin.paymentsTable, response.id, 60_000);
      if (outcome.status !== 'succeeded') throw new Error(`payment ${response.id} ended ${outcome.status}`);
      await sleep(1000);
      return { server: outcome.updatedAt - outcome.createdAt, client: outcome.observedAt - sent };
    };
    const cold = await single(0);
    const warm: Array<{ server: number; client: number }> = [];
    for (let n = 1; n < SINGLE_PAYMENTS; n++) warm.push(await single(n));
    const warmMs = warm.map((w) => w.server);
    print(`\nOne payment on an idle twin, time to succeeded (time scale 1; budget < 500 ms):`);
    print(`  first (cold functions)  ${cold.server} ms (created -> succeeded in the table); ${cold.client} ms seen by the client`);
    print(`  warm, ${warm.length} one at a time   p50 ${percentile(warmMs, 50)} ms, max ${Math.max(...warmMs)} ms; seen by the client (POST sent -> succeeded read) p50 ${percentile(warm.map((w) => w.client), 50)} ms`);

    const raw = await rawConditionalWriteRate(twin.dynamodbEndpoint, TWIN_CONCURRENCY, RAW_SECONDS);
    const limitPerSecond = raw.perSecond / options.callsPerPayment;
    print(`\nDynamoDB Local's raw rate: conditional PutItems of payment-sized items into a table with a stream, ${TWIN_CONCURRENCY} at a time, ${RAW_SECONDS} s:`);
    print(`  ${raw.perSecond.toFixed(0)} writes/s -> implied limit ${limitPerSecond.toFixed(1)} payments/s (÷ ${options.callsPerPayment} DynamoDB calls per succeeded payment)`);

    const loads: LoadResult[] = [];
    let run = 0;
    for (const fraction of LOAD_FRACTIONS) {
      const offered = Math.min(MAX_OFFERED_PER_SECOND, Math.max(1, Math.round(limitPerSecond * fraction)));
      if (loads.some((load) => load.offeredPerSecond === offered)) continue;
      const result = await offerLoad(twin, offered, `bench-load-${run++}`);
      loads.push(result);
      // Saturated (it no longer keeps up) and no better than a lighter load: more load only queues longer. A twin
      // that falls behind may still carry more at a heavier load (larger batches cost less per payment), so a step
      // that falls behind but beats the best so far is followed by the next.
      const best = Math.max(...loads.slice(0, -1).map((load) => load.sustainedPerSecond), 0);
      if (result.sustainedPerSecond < 0.8 * offered && result.sustainedPerSecond < 1.05 * best) break;
    }
    print(`\nOffered loads over HTTP (${LOAD_SECONDS} s each, two merchants' keys, tok_success), payments reaching succeeded (goal ≥ 0.5 of the implied limit):`);
    print(`  ${'offered/s'.padStart(9)} ${'sent'.padStart(5)} ${'201'.padStart(5)} ${'succeeded'.padStart(9)} ${'sustained/s'.padStart(11)} ${'of limit'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'from POST: p50'.padStart(14)} ${'p99'.padStart(6)}   CPU ms per payment (from /proc)`);
    for (const load of loads) {
      const others = Object.keys(load.otherStatuses).length ? `  other: ${JSON.stringify(load.otherStatuses)}` : '';
      print(
        `  ${String(load.offeredPerSecond).padStart(9)} ${String(load.sent).padStart(5)} ${String(load.accepted).padStart(5)} ${String(load.succeeded).padStart(9)} ${load.sustainedPerSecond.toFixed(1).padStart(11)} ${(load.sustainedPerSecond / limitPerSecond).toFixed(2).padStart(8)} ${load.p50Ms.toFixed(0).padStart(8)} ${load.p99Ms.toFixed(0).padStart(8)} ${load.fromPost.p50Ms.toFixed(0).padStart(14)} ${load.fromPost.p99Ms.toFixed(0).padStart(6)}   ${cpuText(load.cpuMsPerPayment)}${others}`,
      );
    }
    print('  (2 cores give 2,000 CPU ms a second: a flow that costs C ms of CPU per payment tops out near 2000 / C payments/s, whatever the limit)');
    return { idle, single: { coldMs: cold.server, warmMs, warmClientMs: warm.map((w) => w.client) }, raw: { perSecond: raw.perSecond, concurrency: TWIN_CONCURRENCY }, callsPerPayment: options.callsPerPayment, limitPerSecond, loads };
  } finally {
    await twin.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const cpuText = (cpu: Record<string, number>) =>
  `${Object.values(cpu).reduce((sum, ms) => sum + ms, 0).toFixed(0)} (${Object.entries(cpu)
    .filter(([, ms]) => ms >= 0.5)
    .sort((a, b) => b[1] - a[1])
    .map(([command, ms]) => `${command} ${ms.toFixed(0)}`)
    .join(', ')})`;

/** Sends `perSecond` payments a second for LOAD_SECONDS (open loop), waits until none is open, reads their outcomes. */
async function offerLoad(twin: Awaited<ReturnType<typeof startTwin>>, perSecond: number, label: string): Promise<LoadResult> {
  const total = perSecond * LOAD_SECONDS;
  let responses: Array<{ status: number; id?: string; sentAt: number }> = [];
  let ids: string[] = [];
  const { cpuSeconds } = await treeCpuDuring(twin.pid, async () => {
    const started = performance.now();
    const requests: Array<Promise<{ status: number; id?: string; sentAt: number }>> = [];
    for (let n = 0; n < total; n++) {
      const due = started + (n * 1000) / perSecond;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const key = twin.apiKeys[n % twin.apiKeys.length]!;
      const sentAt = Date.now();
      requests.push(postPayment(twin.apiUrl, key, `${label}-${n}`, body(label)).then((answer) => ({ ...answer, sentAt }), () => ({ status: 0, sentAt })));
    }
    responses = await Promise.all(requests);
    ids = responses.filter((r) => r.status === 201 && r.id).map((r) => r.id!);
    const deadline = Date.now() + DRAIN_TIMEOUT_MS;
    let open = ids;
    while (open.length > 0 && Date.now() < deadline) {
      open = await openPayments(twin.dynamodbEndpoint, twin.paymentsTable, open);
      if (open.length > 0) await sleep(250);
    }
  });
  const outcomes = await readPayments(twin.dynamodbEndpoint, twin.paymentsTable, ids);
  const succeeded = outcomes.filter((o) => o.status === 'succeeded');
  const otherStatuses: Record<string, number> = {};
  for (const o of outcomes) if (o.status !== 'succeeded') otherStatuses[o.status] = (otherStatuses[o.status] ?? 0) + 1;
  for (const r of responses) if (r.status !== 201) otherStatuses[`http ${r.status}`] = (otherStatuses[`http ${r.status}`] ?? 0) + 1;
  const first = Math.min(...succeeded.map((o) => o.createdAt));
  const last = Math.max(...succeeded.map((o) => o.updatedAt));
  const times = succeeded.map((o) => o.updatedAt - o.createdAt);
  const sentAt = new Map(responses.map((r) => [r.id, r.sentAt]));
  const timesFromPost = succeeded.map((o) => o.updatedAt - (sentAt.get(o.id) ?? o.createdAt));
  return {
    offeredPerSecond: perSecond,
    sent: total,
    accepted: ids.length,
    succeeded: succeeded.length,
    otherStatuses,
    sustainedPerSecond: succeeded.length / Math.max(0.001, (last - first) / 1000),
    p50Ms: percentile(times, 50),
    p99Ms: percentile(times, 99),
    fromPost: { p50Ms: percentile(timesFromPost, 50), p99Ms: percentile(timesFromPost, 99) },
    cpuMsPerPayment: Object.fromEntries(Object.entries(cpuSeconds).map(([command, cpu]) => [command, (1000 * cpu) / Math.max(1, succeeded.length)])),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { resolve } = await import('node:path');
  await benchFlow({ projectDir: resolve(import.meta.dirname, '../..'), cdkOut: process.env.BENCH_CDK_OUT, callsPerPayment: Number(process.env.BENCH_CALLS_PER_PAYMENT ?? 10), print: (line = '') => console.log(line) });
}
