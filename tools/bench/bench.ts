/**
 * `npm run bench`: prints the figures DESIGN §9 budgets — bundle sizes, import times, DynamoDB calls
 * and write units per request and per succeeded payment, handler latency, what the circuit breaker, the
 * scheduled reconciliation and the daily reconciliation add — and the cost per million
 * payments at AWS list prices, itemized, for the Standard and the Express saga. Everything runs on
 * this machine: the synthesized stack's bundled functions, DynamoDB Local behind a metering proxy,
 * the synthesized state machine on aws-local-stepfunctions.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { startDynamoDbLocal } from '../local-runner/dynamodb/dynamodb-local.ts';
import { createTablesFromTemplate } from '../local-runner/dynamodb/tables.ts';
import { createIntrinsicResolver, type TemplateValue } from '../local-runner/intrinsics.ts';
import { loadStateMachine } from '../local-runner/step-functions/machines.ts';
import { startDynamoDbMeter, type MeteredCall } from './dynamodb-meter.ts';
import { lambdaContext, postEvent } from './events.ts';
import { benchFlow, type FlowResults } from './flow.ts';
import { printBundles, synthesizedFunctions } from './bundles.ts';
import { latencyVersusLoadSvg, latencyVersusLoadText, writeBenchmarksDoc } from './report.ts';

const PROJECT_DIR = resolvePath(import.meta.dirname, '../..');
const realWrite = process.stdout.write.bind(process.stdout);
/** Everything printed, for docs/BENCHMARKS.md. */
const printed: string[] = [];
const print = (line = '') => {
  printed.push(line);
  realWrite(`${line}\n`);
};
const benchStarted = Date.now();
const loadBefore = loadavg();
const LATENCY_SAMPLES = Number(process.env.BENCH_SAMPLES ?? 200);
const WARM_SAGA_RUNS = 10;
/** The circuit breaker's gauge: one Powertools 2.35 EMF line of 216 bytes (measured once; the bench runs with metrics off) + 26 bytes CloudWatch counts per event. */
const EMF_GAUGE_BYTES = 242;

/** AWS list prices, us-east-1, on-demand, first pricing tier (USD). */
import { printWebhookCost } from './webhook-cost.ts';
const PRICE = {
  apiGatewayRestPerMillion: 3.5,
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  dynamodbWriteUnitPerMillion: 0.625,
  dynamodbReadUnitPerMillion: 0.125,
  sqsFifoRequestPerMillion: 0.5,
  sfnStandardTransitionPerThousand: 0.025,
  sfnExpressRequestPerMillion: 1.0,
  sfnExpressGbSecond: 0.00001667,
  logsIngestionPerGb: 0.5,
  xrayTracePerMillion: 5.0,
};

const outdir = mkdtempSync(join(tmpdir(), 'payflow-bench-'));
const cleanups: Array<() => Promise<void> | void> = [() => rmSync(outdir, { recursive: true, force: true })];

try {
  print('Synthesizing the stack ...');
  const { template, functions } = await synthesizedFunctions(outdir, { 'payflow:dev': true });
  const platformTracing = await synthesizedFunctions(join(outdir, 'platform-tracing'), { 'payflow:dev': true, 'payflow:sdkTracing': false });

  const importRatios = await printBundles(functions, platformTracing.functions, { workDir: outdir, print });

  const ddb = await startDynamoDbLocal();
  cleanups.push(() => ddb.stop()); // a second stop() is a no-op
  const meter = await startDynamoDbMeter(ddb.endpoint);
  let meterStopped = false;
  cleanups.push(() => (meterStopped ? undefined : meter.stop()));
  Object.assign(process.env, {
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_ENDPOINT_URL_DYNAMODB: meter.endpoint,
    POWERTOOLS_METRICS_DISABLED: 'true',
    POWERTOOLS_TRACE_ENABLED: 'false',
  });
  const setupClient = new DynamoDBClient({ endpoint: ddb.endpoint });
  await createTablesFromTemplate(setupClient, template, (logicalId) => logicalId);
  setupClient.destroy();
  const resolve = createIntrinsicResolver({ ref: (id) => id, getAtt: (id, attribute) => `${id}.${attribute}` });
  for (const fn of functions) {
    for (const [name, value] of Object.entries(fn.environment)) {
      if (!name.startsWith('POWERTOOLS_')) process.env[name] = String(resolve(value));
    }
  }

  const handlers = new Map<string, (event: unknown, context: Context) => Promise<unknown>>();
  const handlerOf = async (logicalId: string) => {
    if (!handlers.has(logicalId)) {
      const fn = functions.find((f) => f.logicalId === logicalId)!;
      handlers.set(logicalId, (await import(pathToFileURL(join(fn.assetDir, 'index.mjs')).href)).handler);
    }
    return handlers.get(logicalId)!;
  };
  const createPaymentId = functions.find((f) => /CreatePayment/i.test(f.logicalId))?.logicalId;
  if (!createPaymentId) throw new Error('No create-payment function in the template');
  const createPayment = await handlerOf(createPaymentId);

  // A key the stack lists (key id -> merchant pairs in the API functions' environment): an unlisted one is 403.
  const benchKeyId = (JSON.parse(process.env.MERCHANT_API_KEYS ?? '[]') as Array<[string, string]>)[0]?.[0];
  if (!benchKeyId) throw new Error('The API functions list no API key (MERCHANT_API_KEYS)');
  await printMerchantIdentityCost(benchKeyId);
  const logs = captureStdout();
  const post = (key: string, body: unknown) =>
    createPayment(postEvent({ resource: '/payments', headers: { 'Idempotency-Key': key }, body, apiKeyId: benchKeyId }), lambdaContext()) as Promise<{ statusCode: number; body: string }>;
  const paymentBody = { amount: 2500, currency: 'EUR', source: 'tok_success', description: 'bench' };

  meter.reset();
  logs.reset();
  const first = await post('bench-accounting', paymentBody);
  if (first.statusCode !== 201) throw new Error(`create-payment answered ${first.statusCode}: ${first.body}`);
  const firstCalls = [...meter.calls];
  const apiLogBytes = logs.bytes();
  meter.reset();
  await post('bench-accounting', paymentBody);
  const replayCalls = [...meter.calls];

  const paymentId = (JSON.parse(first.body) as { id: string }).id;
  const sagaId = Object.keys(template.Resources).find((id) => template.Resources[id]!.Type === 'AWS::StepFunctions::StateMachine' && /PaymentSaga/.test(id) && !/Refund/.test(id));
  if (!sagaId) throw new Error('No payment saga state machine in the template');
  const taskDurations: number[] = [];
  /** Per function logical id: a handler that replaces the real one for a path's fault (see sagaPathFigures). */
  const faultyHandlers = new Map<string, (event: unknown, context: Context) => Promise<unknown>>();
  const saga = loadStateMachine(sagaId, {
    template,
    invokeLambda: async (logicalId, payload) => {
      const started = performance.now();
      try {
        return await (faultyHandlers.get(logicalId) ?? (await handlerOf(logicalId)))(payload, lambdaContext({ functionName: logicalId }));
      } finally {
        taskDurations.push(performance.now() - started);
      }
    },
    queueUrls: Object.fromEntries(Object.keys(template.Resources).filter((id) => template.Resources[id]!.Type === 'AWS::SQS::Queue').map((id) => [id, `http://unused/${id}`])),
  });
  /** One execution of the payment saga: the states it entered (each one a billed Standard transition) and its output. */
  const runPath = async (id: string, name = `payment-${id}`) => {
    const execution = saga.run({ paymentId: id }, { executionArn: `arn:aws:states:us-east-1:000000000000:execution:bench:${name}`, name });
    const states = statesEntered(execution.events);
    const output = (await execution.result) as { status?: string };
    return { states: await states, output };
  };
  const runSaga = async (id: string) => {
    const { states, output } = await runPath(id);
    if (output.status !== 'succeeded') throw new Error(`The saga ended with ${JSON.stringify(output)}`);
    return states.length;
  };
  meter.reset();
  logs.reset();
  const stateTransitions = await runSaga(paymentId);
  const sagaCalls = [...meter.calls];
  const sagaLogBytes = logs.bytes();
  const sagaPaths = await sagaPathFigures({
    newPayment: async (source, key) => (JSON.parse((await post(key, { ...paymentBody, source })).body) as { id: string }).id,
    runPath,
    taskCount: () => taskDurations.length,
    // The ledger refusal is injected outside the code, as test/integration/saga/payment-saga.test.ts does: PostLedger's
    // bundle imported a second time with a Payments table that does not exist, so its transaction is really refused.
    refuseLedger: async () => {
      const postLedger = functions.find((f) => /SagaPostLedgerFunction/.test(f.logicalId));
      if (!postLedger) throw new Error('No PostLedger function in the template');
      const saved = process.env.PAYMENTS_TABLE_NAME;
      process.env.PAYMENTS_TABLE_NAME = 'bench-missing-payments-table';
      try {
        const module = (await import(`${pathToFileURL(join(postLedger.assetDir, 'index.mjs')).href}?ledger-refused`)) as { handler: (event: unknown, context: Context) => Promise<unknown> };
        faultyHandlers.set(postLedger.logicalId, module.handler);
      } finally {
        process.env.PAYMENTS_TABLE_NAME = saved;
      }
      return () => void faultyHandlers.delete(postLedger.logicalId);
    },
  });

  // Warm task durations: more payments through the saga, the cold first run left out.
  taskDurations.splice(0);
  for (let i = 0; i < WARM_SAGA_RUNS; i++) {
    const response = await post(`bench-warm-${i}`, paymentBody);
    await runSaga((JSON.parse(response.body) as { id: string }).id);
  }

  printCalls('First POST /v1/payments', firstCalls);
  printCalls('Replay of that POST', replayCalls);
  printCalls(`Payment saga, happy path (${taskDurations.length / WARM_SAGA_RUNS} Lambda tasks, ${stateTransitions} state transitions)`, sagaCalls);
  printSagaPaths(sagaPaths);
  const paymentCalls = [...firstCalls, ...sagaCalls];
  const paymentWrites = sumUnits(paymentCalls, 'writeUnits');
  const totalWrites = total(paymentWrites);
  const localTotalWrites = total(sumUnits(paymentCalls.map((call) => ({ ...call, writeUnits: call.localWriteUnits ?? call.writeUnits })), 'writeUnits'));
  const processorWrites = total(Object.fromEntries(Object.entries(paymentWrites).filter(([table]) => /SimulatedProcessor/.test(table))));
  print(`\nWrite units per succeeded payment (budget: ≤ 9 without the simulated processor's records): ${totalWrites - processorWrites} without them, ${totalWrites} in all (DynamoDB Local reports ${localTotalWrites})`);
  for (const [table, units] of Object.entries(paymentWrites)) print(`  ${String(units).padStart(3)}  ${table}`);

  const sagaDefinition = JSON.parse(String(resolve(template.Resources[sagaId]!.Properties!.DefinitionString as TemplateValue))) as {
    States: Record<string, { Retry?: Array<{ ErrorEquals: string[]; MaxAttempts?: number }> }>;
  };
  printBreakerCost(sagaCalls, sagaDefinition.States.Authorize?.Retry?.find((retrier) => retrier.ErrorEquals.includes('CircuitOpen'))?.MaxAttempts);

  const dailyId = functions.find((f) => /DailyReconciliationReconcileDay/.test(f.logicalId));
  if (!dailyId) throw new Error('No daily reconciliation function in the template');
  meter.reset();
  const dailyStarted = performance.now();
  const dailyReport = (await (await handlerOf(dailyId.logicalId))({ day: new Date().toISOString().slice(0, 10) }, lambdaContext({ functionName: dailyId.logicalId }))) as { counts: { processorCaptures: number; matched: number; inFlight: number } };
  printDailyReconciliationCost({ sagaCalls, runCalls: [...meter.calls], payments: dailyReport.counts.processorCaptures, runMs: performance.now() - dailyStarted, memoryMb: dailyId.memoryMb });

  const reconcileFn = functions.find((f) => /^ReconciliationReconcile/.test(f.logicalId));
  if (!reconcileFn) throw new Error('No reconciliation function in the template');
  // A stuck bound of 0 s puts every payment of the bench so far behind it: one run reads each, as a run reads
  // the payments of the last 5 minutes once they are past the 15-minute bound.
  const stuckAfterSeconds = process.env.STUCK_AFTER_SECONDS;
  process.env.STUCK_AFTER_SECONDS = '0';
  const reconcileRun = await handlerOf(reconcileFn.logicalId);
  process.env.STUCK_AFTER_SECONDS = stuckAfterSeconds;
  meter.reset();
  const reconcileStarted = performance.now();
  await reconcileRun({}, lambdaContext({ functionName: reconcileFn.logicalId, remainingMs: 60_000 }));
  const reconcileMs = performance.now() - reconcileStarted;
  const reconcileCalls = [...meter.calls];
  meter.reset();
  await reconcileRun({}, lambdaContext({ functionName: reconcileFn.logicalId, remainingMs: 60_000 }));
  printReconciliationCost({ paymentCalls: [...firstCalls, ...sagaCalls], runCalls: reconcileCalls, idleRunCalls: [...meter.calls], payments: 1 + WARM_SAGA_RUNS + new Set(sagaPaths.map((figure) => figure.paymentId)).size, runMs: reconcileMs, memoryMb: reconcileFn.memoryMb });

  const latency = await measureLatency(post, paymentBody);
  print(`\nHandler latency, create-payment in-process on DynamoDB Local (${LATENCY_SAMPLES} sequential requests each):`);
  print(`  first request  p50 ${latency.first.p50.toFixed(1)} ms  p95 ${latency.first.p95.toFixed(1)} ms  p99 ${latency.first.p99.toFixed(1)} ms`);
  print(`  replay         p50 ${latency.replay.p50.toFixed(1)} ms  p95 ${latency.replay.p95.toFixed(1)} ms  p99 ${latency.replay.p99.toFixed(1)} ms`);

  logs.restore();
  printCost({
    writeUnits: totalWrites,
    readUnits: total(sumUnits(paymentCalls, 'readUnits')),
    sagaTasks: taskDurations.length / WARM_SAGA_RUNS,
    stateTransitions,
    apiMs: latency.first.p50,
    taskMs: percentiles(taskDurations).p50,
    logBytes: apiLogBytes + sagaLogBytes,
    memoryMb: functions[0]?.memoryMb ?? 256,
  });
  printWebhookCost(print);

  // The flow as a whole runs on the twin, in its own processes: this process's DynamoDB Local goes first.
  await meter.stop();
  meterStopped = true;
  await ddb.stop();
  const flow: FlowResults = await benchFlow({ projectDir: PROJECT_DIR, cdkOut: outdir, callsPerPayment: firstCalls.length + sagaCalls.length, print });
  print('\nTime to terminal versus offered load (p50 ▆, p99 ▒):');
  for (const line of latencyVersusLoadText(flow)) print(line);
  const seconds = (Date.now() - benchStarted) / 1000;
  print(`\nThe whole bench took ${seconds.toFixed(0)} s.`);
  if (process.env.BENCH_WRITE_DOC !== '0') {
    mkdirSync(join(PROJECT_DIR, 'docs'), { recursive: true });
    writeFileSync(join(PROJECT_DIR, 'docs/bench-latency-vs-load.svg'), latencyVersusLoadSvg(flow));
    writeBenchmarksDoc(join(PROJECT_DIR, 'docs/BENCHMARKS.md'), {
      printed,
      seconds,
      machine: `${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${(totalmem() / 1024 ** 3).toFixed(0)} GiB, Node ${process.version}, ${process.platform}`,
      loadBefore,
      loadAfter: loadavg(),
      importRatios,
      flow,
      writeUnits: totalWrites - processorWrites,
      allWriteUnits: totalWrites,
      transitions: stateTransitions,
      transitionsByPath: sagaPaths.map(({ path, states }) => ({ path, transitions: states.length })),
    });
    print('Wrote docs/BENCHMARKS.md and docs/bench-latency-vs-load.svg');
  }
} finally {
  for (const cleanup of cleanups.reverse()) await cleanup();
}

/**
 * Key rotation (issue 11): what resolving the merchant of an API key adds to a request. The API functions read
 * the key id -> merchant pairs from their environment: parsed on a container's first request, then one map
 * lookup per request, no DynamoDB call and no authorizer invocation. Measured with the real `merchantIdOf`, for
 * the stack's pairs and for 100 pairs (about what Lambda's 4 KB environment holds).
 */
async function printMerchantIdentityCost(keyId: string) {
  const { merchantIdOf } = await import('../../lambdas/commons/http.ts');
  const event = postEvent({ resource: '/payments', headers: {}, body: {}, apiKeyId: keyId });
  const stackPairs = process.env.MERCHANT_API_KEYS!;
  const time = (runs: number, action: () => void) => {
    const started = performance.now();
    for (let i = 0; i < runs; i++) action();
    return (performance.now() - started) / runs;
  };
  const firstMs = time(1, () => merchantIdOf(event));
  const warmUs = time(100_000, () => merchantIdOf(event)) * 1000;
  const hundred = JSON.stringify([...Array.from({ length: 99 }, (_, i) => [`k${String(i).padStart(9, '0')}`, `merchant-${i}`]), [keyId, 'bench']]);
  process.env.MERCHANT_API_KEYS = hundred;
  const firstHundredMs = time(1, () => merchantIdOf(event));
  process.env.MERCHANT_API_KEYS = stackPairs;
  merchantIdOf(event);
  print(`\nMerchant of an API key (key rotation): first request of a container ${firstMs.toFixed(3)} ms (parses ${(JSON.parse(stackPairs) as unknown[]).length} pairs; ${firstHundredMs.toFixed(3)} ms for 100), then ${warmUs.toFixed(2)} µs per request; 0 DynamoDB calls, 0 invocations, 0 USD`);
}

/**
 * The processor circuit breaker (issue 12): what it adds to every payment (measured: its table's units
 * in the happy-path saga; no state is added, so no transition) and what a payment held while it is
 * open costs per wait (the CircuitOpen retrier: one more Authorize attempt = one billed transition on
 * Standard, one Lambda invocation, one breaker read and the payment's consistent read before it). Its gauge is one
 * EMF log line per authorization.
 */
function printBreakerCost(sagaCalls: MeteredCall[], waits: number | undefined) {
  const isBreaker = (table: string) => /CircuitBreaker/.test(table);
  const reads = sagaCalls.reduce((sum, call) => sum + total(Object.fromEntries(Object.entries(call.readUnits).filter(([t]) => isBreaker(t)))), 0);
  const writes = sagaCalls.reduce((sum, call) => sum + total(Object.fromEntries(Object.entries(call.writeUnits).filter(([t]) => isBreaker(t)))), 0);
  const million = 1_000_000;
  const emfBytes = EMF_GAUGE_BYTES;
  const perPayment = reads * PRICE.dynamodbReadUnitPerMillion + writes * PRICE.dynamodbWriteUnitPerMillion + ((emfBytes * million) / 1024 ** 3) * PRICE.logsIngestionPerGb;
  const perWait = PRICE.sfnStandardTransitionPerThousand / 1000 + PRICE.lambdaRequestPerMillion / million + (1.5 * PRICE.dynamodbReadUnitPerMillion) / million;
  print(`\nCircuit breaker, per succeeded payment: ${reads} read units, ${writes} write units of its table, 0 added transitions (no new state on the happy path)`);
  print(`  per million payments: ${perPayment.toFixed(2)} USD (reads ${(reads * PRICE.dynamodbReadUnitPerMillion).toFixed(3)}, EMF gauge ~${emfBytes} B/payment ${(((emfBytes * million) / 1024 ** 3) * PRICE.logsIngestionPerGb).toFixed(3)})`);
  print(`  while open, per held payment and wait: 1 transition + 1 Authorize invocation + 1.5 read units (breaker 0.5, payment 1) = ${(perWait * million).toFixed(2)} USD per million waits (Standard); a payment held the whole hold: ${waits ?? '?'} waits`);
}

/**
 * The daily reconciliation (issue 12): what it adds to every payment (measured: the write units of its
 * two day indexes in the happy-path saga — already in the totals above) and what one run costs per
 * payment it reconciles (measured here over the bench's payments of the day: its reads, its report
 * writes, its run time). No state machine: 0 transitions; one scheduled invocation per day, whatever
 * the volume, until a day outgrows one 15-minute invocation (not handled yet: see the README).
 */
function printDailyReconciliationCost(input: { sagaCalls: MeteredCall[]; runCalls: MeteredCall[]; payments: number; runMs: number; memoryMb: number }) {
  const isDayIndex = (key: string) => /\/(capture-postings-by-day|captures-by-day)$/.test(key);
  const indexWrites = input.sagaCalls.reduce((sum, call) => sum + total(Object.fromEntries(Object.entries(call.writeUnits).filter(([key]) => isDayIndex(key)))), 0);
  const runReads = total(sumUnits(input.runCalls, 'readUnits'));
  const runWrites = total(sumUnits(input.runCalls, 'writeUnits'));
  const per = (units: number) => units / Math.max(1, input.payments);
  const gbSecondsPerPayment = (input.runMs / 1000 / Math.max(1, input.payments)) * (input.memoryMb / 1024);
  const million = 1_000_000;
  const cost = {
    indexWrites: indexWrites * PRICE.dynamodbWriteUnitPerMillion,
    reads: per(runReads) * PRICE.dynamodbReadUnitPerMillion,
    writes: per(runWrites) * PRICE.dynamodbWriteUnitPerMillion,
    compute: gbSecondsPerPayment * million * PRICE.lambdaArmGbSecond,
  };
  print(`\nDaily reconciliation, per payment: ${indexWrites} write units of its day indexes in the saga (in the totals above), 0 transitions`);
  const calls = [...new Set(input.runCalls.map((call) => call.operation))].map((operation) => `${input.runCalls.filter((call) => call.operation === operation).length} ${operation}`).join(', ');
  print(`  one run over ${input.payments} payments of a day (measured): ${calls}; ${runReads} read units (${per(runReads).toFixed(2)} per payment), ${runWrites} write units (the report), ${input.runMs.toFixed(0)} ms`);
  print(`  per million payments: ${(cost.indexWrites + cost.reads + cost.writes + cost.compute).toFixed(2)} USD (index writes ${cost.indexWrites.toFixed(3)}, run reads ${cost.reads.toFixed(3)}, report writes ${cost.writes.toFixed(3)}, compute ${cost.compute.toFixed(3)} at ${input.memoryMb} MB); invocations: 1 per day (${(PRICE.lambdaRequestPerMillion / million).toFixed(7)} USD), not per payment`);
  print('  (a small day rounds reads up: Query and BatchGetItem units are per page and per 4 KB item; at scale the batch reads dominate)');
}

/**
 * Scheduled reconciliation (every 5 minutes): what finding stuck payments costs. A payment writes nothing
 * for it (the open-items index took 2 write units of every payment: measured in the saga, shown first); a
 * run reads each payment created since the last run once — its merchant's keys-only `lookup` entries and a
 * batch read of its status — and puts one small cursor item per merchant that had new payments. Measured:
 * a run over the bench's payments, then a run with nothing new (what every run costs whatever the volume).
 */
function printReconciliationCost(input: { paymentCalls: MeteredCall[]; runCalls: MeteredCall[]; idleRunCalls: MeteredCall[]; payments: number; runMs: number; memoryMb: number }) {
  const openItemsWrites = input.paymentCalls.reduce((sum, call) => sum + total(Object.fromEntries(Object.entries(call.writeUnits).filter(([key]) => key.endsWith('/open-items')))), 0);
  const reads = total(sumUnits(input.runCalls, 'readUnits'));
  const writes = total(sumUnits(input.runCalls, 'writeUnits'));
  const idleReads = total(sumUnits(input.idleRunCalls, 'readUnits'));
  const idleWrites = total(sumUnits(input.idleRunCalls, 'writeUnits'));
  const perPaymentReads = Math.max(0, reads - idleReads) / Math.max(1, input.payments);
  const calls = (list: MeteredCall[]) => [...new Set(list.map((call) => call.operation))].map((operation) => `${list.filter((call) => call.operation === operation).length} ${operation}`).join(', ');
  const million = 1_000_000;
  const runsPerDay = (24 * 60) / 5;
  const gbSecondsPerPayment = (input.runMs / 1000 / Math.max(1, input.payments)) * (input.memoryMb / 1024);
  const perMillion = {
    reads: perPaymentReads * PRICE.dynamodbReadUnitPerMillion,
    compute: gbSecondsPerPayment * million * PRICE.lambdaArmGbSecond,
  };
  const idleRunUsd = idleReads * (PRICE.dynamodbReadUnitPerMillion / million) + idleWrites * (PRICE.dynamodbWriteUnitPerMillion / million) + PRICE.lambdaRequestPerMillion / million;
  print(`\nReconciliation (every 5 minutes), per succeeded payment: ${openItemsWrites} write units of the open-items index in the API and saga (in the totals above), 0 transitions`);
  print(`  one run over ${input.payments} payments past the bound (measured): ${calls(input.runCalls)}; ${reads} read units, ${writes} write units (cursors), ${input.runMs.toFixed(0)} ms`);
  print(`  a run with nothing new (measured): ${calls(input.idleRunCalls)}; ${idleReads} read units, ${idleWrites} write units`);
  print(`  per payment: ${perPaymentReads.toFixed(2)} read units (its lookup entry and its batch read); per million payments: ${(perMillion.reads + perMillion.compute).toFixed(3)} USD (reads ${perMillion.reads.toFixed(3)}, compute ${perMillion.compute.toFixed(3)} at ${input.memoryMb} MB)`);
  print(`  per run, whatever the volume: ${idleReads} read units + 1 invocation = ${(idleRunUsd * runsPerDay * 30).toFixed(4)} USD a month (${runsPerDay} runs a day), plus 1 write unit per merchant with new payments per run`);
  print('  (a small run rounds reads up: a Query and each BatchGetItem item are billed per 4 KB, at least half a unit; at scale the batch reads, half a unit per payment, dominate)');
}

function printCalls(title: string, calls: MeteredCall[]) {
  print(`\n${title}: ${calls.length} DynamoDB calls`);
  for (const call of calls) {
    const units = [...Object.entries(call.writeUnits).map(([t, u]) => `${u} WCU ${t}`), ...Object.entries(call.readUnits).map(([t, u]) => `${u} RCU ${t}`)];
    const local = call.localWriteUnits ? `  (AWS's transaction rules; DynamoDB Local reports ${total(call.localWriteUnits)})` : '';
    print(`  ${call.operation.padEnd(20)} ${units.join(', ')}${local}`);
  }
}

function total(units: Record<string, number>): number {
  return Object.values(units).reduce((a, b) => a + b, 0);
}

function sumUnits(calls: MeteredCall[], kind: 'writeUnits' | 'readUnits'): Record<string, number> {
  const sums: Record<string, number> = {};
  for (const call of calls) for (const [table, units] of Object.entries(call[kind])) sums[table] = (sums[table] ?? 0) + units;
  return sums;
}

async function statesEntered(events: AsyncIterable<{ type: string; state?: { name: string } }>): Promise<string[]> {
  const entered: string[] = [];
  for await (const event of events) if (event.type === 'StateEntered') entered.push(event.state?.name ?? '?');
  return entered;
}

interface SagaPathFigure {
  path: string;
  paymentId: string;
  states: string[];
  lambdaTasks: number;
  ended: string;
}

/**
 * Every path of the payment saga a payment can take without an operator, each measured on one payment through the
 * synthesized definition (Standard bills every state entered; the retries of a path that meets transient errors add
 * one each and are not counted here): the happy path, a decline, a capture failure (void), a ledger refusal (refund
 * of the capture), and a late start of an already settled payment (a reconciliation restart or a duplicate Express start).
 */
async function sagaPathFigures(deps: {
  newPayment: (source: string, key: string) => Promise<string>;
  runPath: (id: string, name?: string) => Promise<{ states: string[]; output: { status?: string } }>;
  taskCount: () => number;
  refuseLedger: () => Promise<() => void>;
}): Promise<SagaPathFigure[]> {
  const figures: SagaPathFigure[] = [];
  const measure = async (path: string, id: string, expected: string, name?: string) => {
    const tasksBefore = deps.taskCount();
    const { states, output } = await deps.runPath(id, name);
    if (output.status !== expected) throw new Error(`The ${path} path ended with ${JSON.stringify(output)}, not ${expected}`);
    figures.push({ path, paymentId: id, states, lambdaTasks: deps.taskCount() - tasksBefore, ended: expected });
  };
  const succeeded = await deps.newPayment('tok_success', 'bench-path-happy');
  await measure('happy (succeeded)', succeeded, 'succeeded');
  await measure('declined', await deps.newPayment('tok_decline', 'bench-path-declined'), 'failed');
  await measure('capture failure (void)', await deps.newPayment('tok_capture_fail', 'bench-path-capture-failed'), 'failed');
  const restore = await deps.refuseLedger();
  try {
    await measure('ledger refused (refund)', await deps.newPayment('tok_success', 'bench-path-ledger-refused'), 'failed');
  } finally {
    restore();
  }
  await measure('late start, settled payment', succeeded, 'succeeded', `payment-${succeeded}-late`);
  return figures;
}

function printSagaPaths(figures: SagaPathFigure[]) {
  print('\nPayment saga, billed Standard transitions per path (states entered, measured on the synthesized definition):');
  for (const figure of figures) {
    const cost = figure.states.length * PRICE.sfnStandardTransitionPerThousand * 1000;
    print(`  ${figure.path.padEnd(28)} ${String(figure.states.length).padStart(2)} transitions  ${String(figure.lambdaTasks).padStart(2)} Lambda tasks  ${cost.toFixed(2).padStart(6)} USD per million  ${figure.states.join(' → ')}`);
  }
}

/** Counts (and swallows) what the handlers log, as CloudWatch Logs would ingest it. */
function captureStdout() {
  let bytes = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    bytes += typeof chunk === 'string' ? Buffer.byteLength(chunk) : chunk.length;
    return true;
  }) as typeof process.stdout.write;
  return { bytes: () => bytes, reset: () => void (bytes = 0), restore: () => void (process.stdout.write = realWrite) };
}

async function measureLatency(post: (key: string, body: unknown) => Promise<unknown>, body: unknown) {
  const first: number[] = [];
  const replay: number[] = [];
  for (let i = 0; i < LATENCY_SAMPLES; i++) {
    const key = `bench-latency-${i}`;
    let started = performance.now();
    await post(key, body);
    first.push(performance.now() - started);
    started = performance.now();
    await post(key, body);
    replay.push(performance.now() - started);
  }
  return { first: percentiles(first), replay: percentiles(replay) };
}

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
  return { p50: at(50), p95: at(95), p99: at(99) };
}

interface CostInputs {
  writeUnits: number;
  readUnits: number;
  sagaTasks: number;
  stateTransitions: number;
  apiMs: number;
  taskMs: number;
  logBytes: number;
  memoryMb: number;
}

function printCost(inputs: CostInputs) {
  const million = 1_000_000;
  // Stream records per payment (created, succeeded: the saga writes no processing any more), relayed and started
  // in batches; 10 per batch is an assumption for steady load, not a measurement.
  const eventsPerPayment = 2;
  const recordsPerBatch = 10;
  // Lambda's own START/END/REPORT lines in JSON format, about 250 bytes each.
  const invocations = 1 + inputs.sagaTasks + (2 * eventsPerPayment) / recordsPerBatch;
  const logBytes = inputs.logBytes + invocations * 3 * 250;
  const gbSeconds = (ms: number) => (Math.max(1, Math.ceil(ms)) / 1000) * (inputs.memoryMb / 1024);
  const common: Array<[string, number, string]> = [
    ['API Gateway REST request', PRICE.apiGatewayRestPerMillion, '1 request'],
    ['Lambda requests', invocations * PRICE.lambdaRequestPerMillion, `${invocations.toFixed(1)} invocations (API 1, saga tasks ${inputs.sagaTasks}, relay + starter ${((2 * eventsPerPayment) / recordsPerBatch).toFixed(1)})`],
    ['Lambda compute (arm64)', (gbSeconds(inputs.apiMs) + inputs.sagaTasks * gbSeconds(inputs.taskMs)) * million * PRICE.lambdaArmGbSecond, `${inputs.memoryMb} MB; API ${inputs.apiMs.toFixed(0)} ms, tasks ${inputs.taskMs.toFixed(0)} ms each (measured here)`],
    ['DynamoDB writes (on-demand)', inputs.writeUnits * PRICE.dynamodbWriteUnitPerMillion, `${inputs.writeUnits} write units (measured; transactions by AWS's rules)`],
    ['DynamoDB reads (on-demand)', inputs.readUnits * PRICE.dynamodbReadUnitPerMillion, `${inputs.readUnits} read units (measured)`],
    ['SQS FIFO requests', ((3 * eventsPerPayment) / recordsPerBatch) * PRICE.sqsFifoRequestPerMillion, `send, receive, delete of ${eventsPerPayment} events in batches of ${recordsPerBatch}`],
    ['CloudWatch Logs ingestion', (logBytes * million / 1024 ** 3) * PRICE.logsIngestionPerGb, `${(logBytes / 1024).toFixed(1)} KB of logs per payment (measured + platform lines)`],
    ['X-Ray traces', 0.05 * PRICE.xrayTracePerMillion, 'default sampling ≈ 5% of requests traced'],
  ];
  const standard: Array<[string, number, string]> = [
    ['Step Functions Standard', ((inputs.stateTransitions * million) / 1000) * PRICE.sfnStandardTransitionPerThousand, `${inputs.stateTransitions} state transitions (counted)`],
  ];
  const sagaSeconds = (inputs.sagaTasks * inputs.taskMs) / 1000;
  const billedSeconds = Math.ceil(sagaSeconds * 10) / 10;
  const express: Array<[string, number, string]> = [
    ['Step Functions Express', PRICE.sfnExpressRequestPerMillion + billedSeconds * (64 / 1024) * million * PRICE.sfnExpressGbSecond, `1 request + ${billedSeconds.toFixed(1)} s at 64 MB`],
  ];
  for (const [title, sagaLine] of [['Standard', standard], ['Express', express]] as const) {
    const lines = [...common, ...sagaLine];
    const total = lines.reduce((sum, [, cost]) => sum + cost, 0);
    print(`\nCost per million succeeded payments, ${title} saga (USD, us-east-1 list prices):`);
    for (const [item, cost, basis] of lines) print(`  ${item.padEnd(30)} ${cost.toFixed(2).padStart(8)}   ${basis}`);
    print(`  ${'total'.padEnd(30)} ${total.toFixed(2).padStart(8)}`);
  }
}
