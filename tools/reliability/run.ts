/**
 * The reliability run, shared by `npm run reliability` (tools/reliability/reliability.ts) and `npm run chaos`
 * (tools/chaos/chaos.ts, the same run with faults injected): starts the whole stack in-process (tools/local-runner/runner.ts, time sped up), drives a
 * bounded load over real HTTP that exercises the failure modes — every test token, duplicate client retries
 * (the same POST sent 2–3 times at once with one Idempotency-Key), concurrent partial refunds that together
 * exceed the payment — waits until everything accepted is terminal, then checks the invariants of DESIGN §6
 * against the tables and queues themselves and returns the figures and the checks.
 * Every random choice of the load comes from one seeded generator (pure-rand), so a seed replays the load.
 */
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { xoroshiro128plus } from 'pure-rand/generator/xoroshiro128plus';
import { uniformFloat64 } from 'pure-rand/distribution/uniformFloat64';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { paymentIdFor } from '#domain/ids';
import { isBalanced, merchantAccount, PROCESSOR_CLEARING_ACCOUNT, totalBalanceByCurrency, type Posting } from '#domain/ledger';
import { SAGA_TERMINAL_PAYMENT_STATUSES } from '#domain/payment';
import type { PaymentItem, RefundItem } from '#adapters/dynamodb/payments-items';
import type { ProcessorRecord } from '#adapters/simulated-processor';
import { PaymentsApiError, PaymentsClient, type Payment, type Refund } from '../../client/payments-client.ts';
import { apiKeyName, merchantIdOf, PAYFLOW_LOCAL, payflowContext } from '../../bin/payflow-local.ts';
import type { FaultInjector, FaultPlan } from '../local-runner/faults/plan.ts';
import { startLocalStack } from '../local-runner/runner.ts';

export interface ReliabilityOptions {
  payments: number;
  concurrency: number;
  /** Every accepted payment terminal within this (ms from its creation). */
  terminalBoundMs: number;
  /** How long to wait for everything to settle. */
  deadlineMs: number;
  /** Saga retry waits and queue visibility timeouts shortened, as in the acceptance tests. */
  timeScale: number;
  /** Seeds every random choice of the load (tokens, amounts, keys, duplicates, refunds, client backoff). */
  seed: number;
  /** One succeeded payment gets this many refunds at once, with different keys, that together refund it (0: none). */
  burstRefunds: number;
  /** The client's retries per request (PaymentsClient's policy otherwise). */
  clientRetries: number;
  /** Faults to inject (the runner's fault injection); none by default. */
  faults?: FaultPlan;
  /** The twin's limit on each function's execution environments (the runner's default otherwise). */
  maxEnvironmentsPerFunction?: number;
  cdkOut?: string;
  dynamodbEndpoint?: string;
  /** Where the functions' and the runner's logs go. */
  logFile: string;
  /** Progress lines (default console.log). */
  progress?: (line: string) => void;
}

export interface InvariantCheck {
  name: string;
  detail: string;
  violations: string[];
}

export interface ReliabilityReport {
  checks: InvariantCheck[];
  /** The figures, one line each, as printed. */
  lines: string[];
  /** Faults injected, when the run had some. */
  faults?: FaultInjector;
  /** Client attempts and logical requests, by operation: their difference is the client's retries. */
  clientAttempts: Record<string, number>;
  clientRequests: Record<string, number>;
  /** Every dead-letter message, attributed to the payment or refund it belongs to, with why it is there. */
  deadLetters: DeadLetter[];
  durationMs: number;
  failed: boolean;
}

export interface DeadLetter {
  queue: string;
  item?: string;
  reason?: string;
}

const DUPLICATE_SHARE = 0.25;
const REFUND_SHARE = 0.4;
const TOKENS = ['tok_success', 'tok_decline', 'tok_insufficient_funds', 'tok_capture_fail', 'tok_flaky', 'tok_timeout', 'tok_refund_fail'] as const;
/** Cards the processor always ends up approving (tok_flaky after its errors, tok_timeout after its lost answer). */
const GOOD_CARDS: readonly string[] = ['tok_success', 'tok_flaky', 'tok_timeout', 'tok_refund_fail'];
const CURRENCIES = ['USD', 'EUR'] as const;
/** Text SQS refuses (U+FFFF) or an emulator might (an emoji, outside the BMP) must not stall a payment. */
const DESCRIPTIONS = ['reliability run', 'reliability run \u{1F600}', 'reliability run \uffff'] as const;
/** One succeeded payment gets this many refunds at once, with different keys, that together refund it. */
const BURST_REFUNDS = 50;

type PostingItem = Posting & { SK: string; entity: 'posting' };
interface Merchant { id: string; client: PaymentsClient }
interface PaymentPlan { merchant: Merchant; key: string; source: string; copies: number; ids: Set<string>; fresh: number; replays: number; errors: string[] }
interface RefundPlan { payment: PaymentItem; amounts: number[]; accepted: string[]; rejected: number; errors: string[]; burst?: boolean }

/** A seeded source of uniform numbers in [0, 1). */
export function seededRandom(seed: number): () => number {
  const generator = xoroshiro128plus(seed);
  // The first draws of a fresh xoroshiro128+ are poorly mixed for small seeds: skip a few.
  for (let skip = 0; skip < 16; skip++) uniformFloat64(generator);
  return () => uniformFloat64(generator);
}

const bump = (counts: Record<string, number>, name: string, by = 1) => void (counts[name] = (counts[name] ?? 0) + by);
const sum = <T>(items: readonly T[], value: (item: T) => number) => items.reduce((total, item) => total + value(item), 0);
const countBy = <T>(items: Iterable<T>, name: (item: T) => string) => JSON.stringify([...items].reduce((counts, item) => (bump(counts, name(item)), counts), {} as Record<string, number>));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
const errorText = (error: unknown) => (error instanceof PaymentsApiError ? `${error.status} ${error.code}` : String(error));

/** Runs `work` over `items`, at most `limit` at a time. */
async function inPool<T>(items: readonly T[], limit: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) await work(items[next++]!);
  }));
}

/** Polls `done` until it holds or the deadline passes (then false): no fixed sleeps. */
async function waitUntil(deadline: number, done: () => Promise<boolean>): Promise<boolean> {
  for (;;) {
    if (await done()) return true;
    if (Date.now() > deadline) return false;
    await new Promise((wake) => setTimeout(wake, 250));
  }
}

/** Starts the stack, drives the load, waits, checks DESIGN §6; never throws for a failed check (see `failed`). */
export async function runReliability(options: ReliabilityOptions): Promise<ReliabilityReport> {
const { payments: PAYMENTS, concurrency: CONCURRENCY, terminalBoundMs: TERMINAL_BOUND_MS, deadlineMs: DEADLINE_MS, timeScale: TIME_SCALE, burstRefunds: BURST_REFUNDS } = options;
const random = seededRandom(options.seed);
const randomInt = (below: number) => Math.floor(random() * below);
const pick = <T>(items: readonly T[]): T => items[randomInt(items.length)]!;
const progress = options.progress ?? ((line: string) => console.log(line));
const lines: string[] = [];
const print = (line: string) => (lines.push(line), progress(line));
const startedAt = Date.now();
const workDir = mkdtempSync(join(tmpdir(), 'payflow-reliability-'));
mkdirSync(resolve(options.logFile, '..'), { recursive: true });
const logFile = options.logFile;
const logStream = createWriteStream(logFile, { flags: 'w' });
const runnerDiagnostics: string[] = [];
const functionErrorLogs: Record<string, number> = {};
const clientAttempts: Record<string, number> = {};
const clientRequests: Record<string, number> = {};
let deadLetters: DeadLetter[] = [];
const checks: InvariantCheck[] = [];
progress(`Starting the local stack (time scale ${TIME_SCALE}${options.faults ? `, ${options.faults.rules.length} fault rules, seed ${options.faults.seed}` : ''}) ...`);
let failed = false;
const stack = await startLocalStack({
  ...PAYFLOW_LOCAL,
  cdkOut: options.cdkOut,
  dynamodbEndpoint: options.dynamodbEndpoint,
  synthOutdir: join(workDir, 'cdk.out'),
  port: 0,
  timeScale: TIME_SCALE,
  faults: options.faults,
  ...(options.maxEnvironmentsPerFunction ? { maxEnvironmentsPerFunction: options.maxEnvironmentsPerFunction } : {}),
  // Where the runner writes, on stop, what each role was granted and used (npm run iam:report).
  ...(process.env.PAYFLOW_ACCESS_REPORT ? { accessReportFile: resolve(process.env.PAYFLOW_ACCESS_REPORT) } : {}),
  // The token mix fails about a third of all authorizations on purpose (tok_flaky, tok_timeout), which
  // would rightly open the circuit breaker and fail good cards after its hold: this run checks exactly-once
  // and the ledger, the breaker's own behaviour is test/integration/saga/circuit-breaker.test.ts's.
  context: { ...payflowContext(TIME_SCALE), 'payflow:circuitBreaker': { ...(payflowContext(TIME_SCALE)['payflow:circuitBreaker'] as object), failureThreshold: 1_000_000 } },
  functionLogs: (functionName, line) => {
    logStream.write(`[${functionName}] ${line}\n`);
    if (/"level":"(ERROR|CRITICAL)"/.test(line)) bump(functionErrorLogs, functionName);
  },
  log: (line) => {
    logStream.write(`[runner] ${line}\n`);
    if (!/^[A-Z]+ \/\S* \d{3} /.test(line)) runnerDiagnostics.push(line);
  },
});
try {
  const outputs = stack.outputs[stack.stackName]!;
  const aws = { region: outputs.LocalRegion!, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ ...aws, endpoint: stack.endpoints.dynamodb }));
  const sqs = new SQSClient({ ...aws, endpoint: stack.endpoints.sqs, useQueueUrlAsEndpoint: false });
  const scan = async <T>(TableName: string): Promise<T[]> => {
    const items: T[] = [];
    for await (const page of paginateScan({ client: ddb }, { TableName, ConsistentRead: true })) items.push(...((page.Items ?? []) as T[]));
    return items;
  };
  const scanPayments = async () => {
    const items = await scan<PaymentItem | RefundItem | PostingItem>(outputs.PaymentsTableName!);
    return {
      payments: new Map(items.filter((item): item is PaymentItem => item.entity === 'payment').map((item) => [item.id, item])),
      refunds: new Map(items.filter((item): item is RefundItem => item.entity === 'refund').map((item) => [item.id, item])),
      postings: items.filter((item): item is PostingItem => item.entity === 'posting'),
    };
  };

  // Every answer of every attempt, as the client saw it (its retries of 409/429/5xx included).
  const answers: Record<string, number> = {};
  const countingFetch: typeof fetch = async (input, init) => {
    const operation = String(input).endsWith('/refunds') ? 'refund' : init?.method === 'POST' ? 'payment' : 'get';
    bump(clientAttempts, operation);
    const response = await fetch(input, init);
    bump(answers, `${operation} ${response.status}${response.headers.get('idempotent-replayed') === 'true' ? ' replayed' : ''}`);
    return response;
  };
  const merchants: Merchant[] = ['MerchantA', 'MerchantB'].map((suffix) => {
    const key = stack.apiKeys.find((apiKey) => apiKeyName(apiKey) === suffix);
    if (!key) throw new Error(`The stack has no API key ${suffix}`);
    return { id: merchantIdOf(key), client: new PaymentsClient({ baseUrl: stack.apiUrl, apiKey: key.value, fetch: countingFetch, random, retry: { maxRetries: options.clientRetries } }) };
  });
  progress(`Stack ready in ${stack.timings.total} ms at ${stack.apiUrl}; sending ${PAYMENTS} payments, ${CONCURRENCY} at a time ...`);

  // 1. Payments: random tokens, two merchants, a share sent 2–3 times at once with the same key.
  const loadStart = Date.now();
  // Every draw happens here, in order, so that the seed alone decides the load.
  const plans: Array<PaymentPlan & { body: Record<string, unknown> }> = Array.from({ length: PAYMENTS }, (_, index) => {
    const source = index < TOKENS.length ? TOKENS[index]! : pick(TOKENS);
    return {
      merchant: merchants[index % merchants.length]!, key: `reliability-${options.seed}-${index}`, source,
      copies: random() < DUPLICATE_SHARE ? 2 + randomInt(2) : 1, ids: new Set<string>(), fresh: 0, replays: 0, errors: [],
      body: { amount: 2 * (50 + randomInt(4_950)), currency: pick(CURRENCIES), source, description: pick(DESCRIPTIONS) },
    };
  });
  await inPool(plans, CONCURRENCY, async (plan) => {
    const { body } = plan;
    await Promise.all(Array.from({ length: plan.copies }, async () => {
      bump(clientRequests, 'payment');
      try {
        const answer = await plan.merchant.client.send<Payment>('POST', 'payments', { body, idempotencyKey: plan.key });
        plan.ids.add(answer.body.id);
        if (answer.replayed) plan.replays++;
        else plan.fresh++;
      } catch (error) {
        plan.errors.push(errorText(error));
      }
    }));
  });
  const accepted = plans.filter((plan) => plan.ids.size > 0);
  const acceptedIds = new Set(accepted.flatMap((plan) => [...plan.ids]));
  const sourceOf = new Map(accepted.flatMap((plan) => [...plan.ids].map((id) => [id, plan.source] as const)));
  const loadMs = Date.now() - loadStart;

  // 2. Every accepted payment terminal (before any refund, so updatedAt is the moment it became terminal).
  const isTerminal = (payment?: PaymentItem) => payment !== undefined && SAGA_TERMINAL_PAYMENT_STATUSES.includes(payment.status);
  let snapshot = await scanPayments();
  const paymentsSettled = await waitUntil(startedAt + DEADLINE_MS, async () => {
    snapshot = await scanPayments();
    return [...acceptedIds].every((id) => isTerminal(snapshot.payments.get(id)));
  });
  const timeToTerminal = new Map([...acceptedIds].flatMap((id) => {
    const payment = snapshot.payments.get(id);
    return isTerminal(payment) ? [[id, Date.parse(payment!.updatedAt) - Date.parse(payment!.createdAt)] as const] : [];
  }));
  const statusByToken: Record<string, Record<string, number>> = {};
  for (const id of acceptedIds) {
    const payment = snapshot.payments.get(id);
    bump((statusByToken[sourceOf.get(id)!] ??= {}), payment ? `${payment.status}${payment.failureCode ? `(${payment.failureCode})` : ''}` : 'missing');
  }

  // 3. Concurrent partial refunds, different keys, more than the payment in total: some must be refused.
  //    And one burst: BURST_REFUNDS refunds of one payment at once, all of which fit.
  const burstPayment = [...snapshot.payments.values()].find((payment) => acceptedIds.has(payment.id) && payment.status === 'succeeded' && payment.source === 'tok_success' && payment.amount >= BURST_REFUNDS);
  const refundPlans: RefundPlan[] = [...snapshot.payments.values()]
    .filter((payment) => acceptedIds.has(payment.id) && payment !== burstPayment && payment.status === 'succeeded')
    .sort((a, b) => a.id.localeCompare(b.id))
    .filter(() => random() < REFUND_SHARE)
    .map((payment) => {
      // Two of 60 % (one fits), or three of 50 % (two fit: the payment ends refunded).
      const amounts = random() < 0.5 ? Array(2).fill(Math.ceil(payment.amount * 0.6)) : Array(3).fill(payment.amount / 2);
      return { payment, amounts, accepted: [], rejected: 0, errors: [] };
    });
  if (burstPayment && BURST_REFUNDS > 0) {
    refundPlans.push({ payment: burstPayment, amounts: Array(BURST_REFUNDS).fill(Math.floor(burstPayment.amount / BURST_REFUNDS)), accepted: [], rejected: 0, errors: [], burst: true });
  }
  await inPool(refundPlans, CONCURRENCY, async (plan) => {
    const client = merchants.find((merchant) => merchant.id === plan.payment.merchantId)!.client;
    await Promise.all(plan.amounts.map(async (amount) => {
      bump(clientRequests, 'refund');
      try {
        plan.accepted.push((await client.createRefund(plan.payment.id, { amount })).id);
      } catch (error) {
        if (error instanceof PaymentsApiError && error.status === 422 && error.code === 'refund_exceeds_refundable') plan.rejected++;
        else plan.errors.push(errorText(error));
      }
    }));
  });
  const acceptedRefunds = refundPlans.flatMap((plan) => plan.accepted);
  const refundsSettled = await waitUntil(Date.now() + DEADLINE_MS, async () => {
    snapshot = await scanPayments();
    return acceptedRefunds.every((id) => ['succeeded', 'failed'].includes(snapshot.refunds.get(id)?.status ?? 'pending'));
  });
  const { payments, refunds, postings } = (snapshot = await scanPayments());
  const processorRecords = (await scan<ProcessorRecord>(outputs.ProcessorTableName!)).filter((record) => record.operation !== undefined);

  // 4. The invariants.
  const check = (name: string, detail: string, violations: string[]) => checks.push({ name, detail, violations });
  const succeededFamily = (payment: PaymentItem) => ['succeeded', 'partially_refunded', 'refunded'].includes(payment.status);

  check('one payment item per (merchant, key)', `${payments.size} items for ${accepted.length} accepted keys`, [
    ...(payments.size === accepted.length ? [] : [`${payments.size} payment items for ${accepted.length} keys`]),
    ...accepted.flatMap((plan) => {
      const expected = paymentIdFor(plan.merchant.id, plan.key);
      const item = payments.get(expected);
      return [
        ...(plan.ids.size === 1 && plan.ids.has(expected) ? [] : [`${plan.key}: answered ids ${[...plan.ids].join(',')}, expected ${expected}`]),
        ...(item?.merchantId === plan.merchant.id ? [] : [`${expected}: no item of merchant ${plan.merchant.id}`]),
        // Zero is an answer lost on the way (a 5xx after the payment was written; the retry finds it): never two.
        ...(plan.fresh <= 1 ? [] : [`${plan.key}: ${plan.fresh} non-replayed 201s`]),
      ];
    }),
  ]);

  const recordsOf = new Map<string, ProcessorRecord[]>();
  for (const record of processorRecords) {
    const paymentId = record.operation === 'refund' && record.captureId ? record.captureId.slice('cap_'.length) : record.reference;
    recordsOf.set(paymentId, [...(recordsOf.get(paymentId) ?? []), record]);
  }
  const processorViolations: string[] = [];
  for (const [paymentId, records] of recordsOf) {
    const payment = payments.get(paymentId);
    const succeeded = (operation: string) => records.filter((record) => record.operation === operation && record.outcome === 'succeeded');
    const [authorizations, captures] = [succeeded('authorize'), succeeded('capture')];
    if (!payment) processorViolations.push(`${paymentId}: processor records for no payment`);
    if (authorizations.length > 1 || captures.length > 1) processorViolations.push(`${paymentId}: ${authorizations.length} authorizations, ${captures.length} captures`);
    if (!payment) continue;
    const reversed = records.some((record) => record.operation === 'void' && record.reversedCaptureId);
    const charged = (captures.length && !reversed ? captures[0]!.amount! : 0) - sum(succeeded('refund'), (record) => record.amount!);
    const owed = succeededFamily(payment) ? payment.amount - payment.amountRefunded : 0;
    if (charged !== owed) processorViolations.push(`${paymentId} (${payment.source}, ${payment.status}): processor holds ${charged}, the payment says ${owed}`);
  }
  for (const payment of payments.values()) if (succeededFamily(payment) && !recordsOf.has(payment.id)) processorViolations.push(`${payment.id}: succeeded without a processor record`);
  check('no payment authorized twice or captured more than once; processor net charge = payment', `${processorRecords.length} processor records`, processorViolations);

  // Infrastructure trouble delays, never decides (DESIGN §6): these cards succeed, whatever failed on the way.
  const goodCardsFailed = [...acceptedIds].filter((id) => GOOD_CARDS.includes(sourceOf.get(id)!) && isTerminal(payments.get(id)) && !succeededFamily(payments.get(id)!));
  check(`no good card (${GOOD_CARDS.join(', ')}) failed`, `${[...acceptedIds].filter((id) => GOOD_CARDS.includes(sourceOf.get(id)!)).length} good-card payments`,
    goodCardsFailed.map((id) => `${id} (${sourceOf.get(id)}): ${payments.get(id)!.status} ${payments.get(id)!.failureCode ?? ''}`));

  const late = [...acceptedIds].filter((id) => !isTerminal(payments.get(id)) || (timeToTerminal.get(id) ?? Infinity) > TERMINAL_BOUND_MS);
  check(`every 201 terminal within ${TERMINAL_BOUND_MS} ms`, `${acceptedIds.size - late.length}/${acceptedIds.size}${paymentsSettled ? '' : ' (deadline passed)'}`,
    late.map((id) => `${id} (${sourceOf.get(id)}): ${payments.get(id)?.status ?? 'missing'} after ${timeToTerminal.get(id) ?? '?'} ms`));
  const openRefunds = acceptedRefunds.filter((id) => !['succeeded', 'failed'].includes(refunds.get(id)?.status ?? 'missing'));
  check('every accepted refund terminal', `${acceptedRefunds.length - openRefunds.length}/${acceptedRefunds.length}${refundsSettled ? '' : ' (deadline passed)'}`,
    openRefunds.map((id) => `${id}: ${refunds.get(id)?.status ?? 'missing'}`));

  const postingViolations: string[] = [];
  const postingsAt = (paymentId: string, sk: string) => postings.filter((posting) => posting.paymentId === paymentId && posting.SK === sk);
  const hasLines = (posting: PostingItem, debit: string, credit: string, amount: number) =>
    isBalanced(posting.lines) && posting.lines.length === 2 && posting.lines.some((line) => line.account === debit && line.amount === amount) && posting.lines.some((line) => line.account === credit && line.amount === -amount);
  for (const payment of payments.values()) {
    const captures = postingsAt(payment.id, 'POSTING#capture');
    const expected = succeededFamily(payment) ? 1 : 0;
    if (captures.length !== expected) postingViolations.push(`${payment.id} (${payment.status}): ${captures.length} capture postings`);
    for (const posting of captures) if (!hasLines(posting, PROCESSOR_CLEARING_ACCOUNT, merchantAccount(payment.merchantId), payment.amount)) postingViolations.push(`${payment.id}: capture posting ${JSON.stringify(posting.lines)}`);
  }
  for (const refund of refunds.values()) {
    const found = postingsAt(refund.paymentId, `POSTING#refund#${refund.id}`);
    if (found.length !== (refund.status === 'succeeded' ? 1 : 0)) postingViolations.push(`${refund.id} (${refund.status}): ${found.length} refund postings`);
    for (const posting of found) if (!hasLines(posting, merchantAccount(refund.merchantId), PROCESSOR_CLEARING_ACCOUNT, refund.amount)) postingViolations.push(`${refund.id}: refund posting ${JSON.stringify(posting.lines)}`);
  }
  const capturePostings = postings.filter((posting) => posting.SK === 'POSTING#capture').length;
  check('each succeeded payment / refund has exactly one balanced posting', `${capturePostings} capture, ${postings.length - capturePostings} refund postings`, postingViolations);

  const totals = totalBalanceByCurrency(postings);
  check('sum of all posting lines is zero per currency', JSON.stringify(totals), Object.entries(totals).filter(([, total]) => total !== 0).map(([currency, total]) => `${currency}: ${total}`));

  const refundViolations: string[] = [];
  for (const payment of payments.values()) {
    const succeededRefunds = sum([...refunds.values()].filter((refund) => refund.paymentId === payment.id && refund.status === 'succeeded'), (refund) => refund.amount);
    const expectedStatus = payment.amountRefunded === 0 ? payment.status : payment.amountRefunded === payment.amountCaptured ? 'refunded' : 'partially_refunded';
    if (succeededRefunds > payment.amountCaptured) refundViolations.push(`${payment.id}: refunded ${succeededRefunds} > captured ${payment.amountCaptured}`);
    if (succeededRefunds !== payment.amountRefunded) refundViolations.push(`${payment.id}: amountRefunded ${payment.amountRefunded}, refunds sum to ${succeededRefunds}`);
    if (payment.amountRefundable !== payment.amountCaptured - payment.amountRefunded) refundViolations.push(`${payment.id}: amountRefundable ${payment.amountRefundable} != ${payment.amountCaptured} - ${payment.amountRefunded}`);
    if (payment.status !== expectedStatus) refundViolations.push(`${payment.id}: status ${payment.status}, amounts say ${expectedStatus}`);
  }
  const burst = refundPlans.find((plan) => plan.burst);
  const burstPosted = burst ? burst.accepted.filter((id) => refunds.get(id)?.status === 'succeeded').length : 0;
  check(`${BURST_REFUNDS} concurrent refunds of one payment all accepted and posted`, burst ? `${burst.accepted.length} accepted, ${burstPosted} succeeded on ${burst.payment.id}` : 'no tok_success payment to burst', [
    ...(burst ? [] : ['no succeeded tok_success payment was available for the burst']),
    ...(burst && burstPosted !== BURST_REFUNDS ? [`${burst.payment.id}: ${burst.accepted.length} accepted, ${burstPosted} succeeded, errors ${JSON.stringify(burst.errors.slice(0, 3))}`] : []),
  ]);
  check('per payment: succeeded refunds <= captured (amounts and status agree)', `${refunds.size} refunds on ${refundPlans.length} payments`, refundViolations);

  const dlqNames = ['EventsDlqUrl', 'RelayDeadLetterQueueUrl', 'RelayFailureQueueUrl', 'SagaFailuresQueueUrl'];
  const dlqDepths = Object.fromEntries(await Promise.all(dlqNames.map(async (name) => {
    const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: outputs[name]!, AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'] }));
    return [name.replace(/Url$/, ''), Number(Attributes?.ApproximateNumberOfMessages ?? 0) + Number(Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)] as const;
  })));
  if (!options.faults) {
    check('dead-letter queues empty', JSON.stringify(dlqDepths), Object.entries(dlqDepths).filter(([, depth]) => depth > 0).map(([name, depth]) => `${name}: ${depth}`));
  }
  // Under faults a case may rightly end in a DLQ; each one must name its payment or refund and say why.
  deadLetters = (await Promise.all(dlqNames.map((name) => readDeadLetters(sqs, name.replace(/Url$/, ''), outputs[name]!, [...payments.keys(), ...refunds.keys()])))).flat();
  check('everything that failed for good is in a DLQ, attributed to its payment or refund, with why', `${deadLetters.length} dead letters ${JSON.stringify(dlqDepths)}`,
    deadLetters.filter((letter) => !letter.item || !letter.reason).map((letter) => `${letter.queue}: ${letter.item ?? 'no payment or refund named'}, ${letter.reason ?? 'no reason'}`));

  // 5. The report.
  const sortedTimes = [...timeToTerminal.values()].sort((a, b) => a - b);
  const refundTimes = [...refunds.values()].filter((refund) => refund.status !== 'pending').map((refund) => Date.parse(refund.updatedAt) - Date.parse(refund.createdAt)).sort((a, b) => a - b);
  const refundErrors = refundPlans.flatMap((plan) => plan.errors);
  const paymentErrors = plans.flatMap((plan) => plan.errors);
  print(`=== Payflow ${options.faults ? 'chaos' : 'reliability'} run: ${PAYMENTS} payments, concurrency ${CONCURRENCY}, time scale ${TIME_SCALE}, seed ${options.seed} ===`);
  print(`payments sent        ${PAYMENTS} keys + ${sum(plans, (plan) => plan.copies - 1)} duplicate POSTs (${plans.filter((plan) => plan.copies > 1).length} keys sent 2–3x at once), in ${loadMs} ms`);
  print(`payment outcomes     ${sum(plans, (plan) => plan.fresh)} fresh 201, ${sum(plans, (plan) => plan.replays)} replayed 201, ${paymentErrors.length} errors${paymentErrors.length ? ` ${JSON.stringify(paymentErrors.slice(0, 5))}` : ''}`);
  print(`HTTP answers         ${Object.entries(answers).sort().map(([name, count]) => `${name}: ${count}`).join(', ')}`);
  print(`refunds              ${sum(refundPlans, (plan) => plan.amounts.length)} sent on ${refundPlans.length} payments: ${acceptedRefunds.length} accepted, ${sum(refundPlans, (plan) => plan.rejected)} rejected 422, ${refundErrors.length} other errors${refundErrors.length ? ` ${JSON.stringify(refundErrors.slice(0, 5))}` : ''}`);
  print(`refund statuses      ${countBy(refunds.values(), (refund) => refund.status)}`);
  print('terminal status by token (before refunds):');
  for (const token of TOKENS) print(`  ${token.padEnd(24)} ${Object.entries(statusByToken[token] ?? {}).map(([status, count]) => `${status}: ${count}`).join(', ')}`);
  print(`final payment statuses ${countBy(payments.values(), (payment) => payment.status)}`);
  print(`time to terminal     payments p50 ${percentile(sortedTimes, 50)} ms, p95 ${percentile(sortedTimes, 95)} ms, max ${sortedTimes.at(-1)} ms; refunds p50 ${percentile(refundTimes, 50)} ms, p95 ${percentile(refundTimes, 95)} ms, max ${refundTimes.at(-1)} ms`);
  print(`DLQ depths           ${Object.entries(dlqDepths).map(([name, depth]) => `${name}: ${depth}`).join(', ')}`);
  print(`function ERROR logs  ${JSON.stringify(functionErrorLogs)}; runner diagnostics: ${runnerDiagnostics.length}${runnerDiagnostics.length ? ` ${JSON.stringify(runnerDiagnostics.slice(0, 3))}` : ''}`);
  if (deadLetters.length) print(`dead letters         ${deadLetters.slice(0, 10).map((letter) => `${letter.queue} ${letter.item}: ${letter.reason}`).join('; ')}`);
  print('invariants:');
  for (const { name, detail, violations } of checks) {
    print(`  ${violations.length ? 'FAIL' : 'PASS'}  ${name} — ${detail}${violations.length ? `; ${violations.length} violation(s):` : ''}`);
    for (const violation of violations.slice(0, 5)) print(`          ${violation}`);
  }
  failed = checks.some((entry) => entry.violations.length > 0);
  progress(`\n${failed ? 'FAILED' : 'PASSED'} in ${((Date.now() - startedAt) / 1000).toFixed(1)} s (stack start ${((stack.timings.total ?? 0) / 1000).toFixed(1)} s); logs: ${logFile}`);
  ddb.destroy();
  sqs.destroy();
} catch (error) {
  failed = true;
  checks.push({ name: 'the run itself', detail: 'threw', violations: [error instanceof Error ? error.stack ?? error.message : String(error)] });
  progress(String(error instanceof Error ? error.stack : error));
} finally {
  await stack.stop();
  logStream.end();
  rmSync(workDir, { recursive: true, force: true });
}
return { checks, lines, faults: stack.faults, clientAttempts, clientRequests, deadLetters, durationMs: Date.now() - startedAt, failed };
}

/** Every message of a dead-letter queue, with the payment or refund it names and why it is there. */
async function readDeadLetters(sqs: SQSClient, queue: string, queueUrl: string, itemIds: readonly string[]): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (;;) {
    const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 300, MessageAttributeNames: ['All'], MessageSystemAttributeNames: ['All'] }));
    if (Messages.length === 0) return letters;
    for (const message of Messages) {
      const body = message.Body ?? '';
      const item = itemIds.find((id) => body.includes(id));
      let reason = message.MessageAttributes?.reason?.StringValue;
      try {
        const parsed = JSON.parse(body) as { state?: { error?: { Error?: string }; compensationError?: { Error?: string } }; type?: string };
        reason ??= parsed.state?.compensationError?.Error ?? parsed.state?.error?.Error;
        if (!reason && parsed.type) reason = `${parsed.type} delivered ${message.Attributes?.ApproximateReceiveCount ?? '?'} times without a saga start`;
      } catch {
        // not JSON: the attributes say what it is
      }
      letters.push({ queue, ...(item ? { item } : {}), ...(reason ? { reason } : {}) });
    }
  }
}
