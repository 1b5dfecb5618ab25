import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReconcileSummary } from '../../../lambdas/application/reconcile.ts';
import { paymentKey, paymentScanCursorKey } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { LocalStepFunctions } from '../../../tools/local-runner/step-functions/executions.ts';
import type { LocalStateMachine } from '../../../tools/local-runner/step-functions/machines.ts';
import { startStepFunctionsServer, type StepFunctionsServer } from '../../../tools/local-runner/step-functions/server.ts';
import { documentClient } from '../../support/aws.ts';
import { createSagaHarness, type SagaHarness } from '../saga/saga-harness.ts';
import { PaymentsTable, eventually, importBundledHandler, type Handler } from './harness.ts';

// Reconciliation (bundled) against the Payments table of DynamoDB Local (each merchant's payments on the
// lookup index from its cursor; refunds and earlier versions' payments on the open-items index) and the
// SYNTHESIZED sagas behind the local Step Functions API (real bundled task handlers); flags go to a real
// fauxqs queue.
const STUCK_AFTER_SECONDS = 900;
// Each test's payments belong to a merchant of its own: its cursor starts fresh, so payments written with
// a creation time in the past (as stuck ones are) are not behind a cursor an earlier test moved.
const MERCHANTS = Array.from({ length: 14 }, (_, index) => `reconcile-${index}`);
let merchantsUsed = 0;
const freshMerchant = () => MERCHANTS[merchantsUsed++]!;
let saga: SagaHarness;
let server: StepFunctionsServer;
let table: PaymentsTable;
let env: Record<string, string>;
let reconcile: Handler<unknown>;

beforeAll(async () => {
  saga = await createSagaHarness();
  server = await startStepFunctionsServer(saga.stepFunctions);
  table = new PaymentsTable(saga.tables.PAYMENTS_TABLE_NAME!);
  env = {
    AWS_ENDPOINT_URL_SFN: server.endpoint,
    PAYMENT_SAGA_ARN: saga.paymentSaga.arn,
    REFUND_SAGA_ARN: saga.refundSaga.arn,
    SAGA_FAILURES_QUEUE_URL: saga.sagaFailuresQueueUrl,
    STUCK_AFTER_SECONDS: String(STUCK_AFTER_SECONDS),
    RECONCILE_MAX_ITEMS: '50',
    RECONCILE_MERCHANT_IDS: ['merchant-a', ...MERCHANTS].join(','),
  };
  reconcile = await importBundledHandler('ReconciliationReconcile', env);
});
afterAll(async () => {
  await saga.stepFunctions.idle();
  await server.close();
});

const minutesAgo = (minutes: number) => new Date(Date.now() - minutes * 60_000);
const executionsNamed = (name: string) => saga.stepFunctions.listExecutions().filter((execution) => execution.name === name);
/** Runs reconciliation, then waits for the sagas it started to finish. */
async function runReconciliation(handler = reconcile): Promise<ReconcileSummary> {
  const summary = (await handler({})) as ReconcileSummary;
  await saga.stepFunctions.idle();
  return summary;
}
const stored = async (key: { PK: string; SK: string }) =>
  (await documentClient().send(new GetCommand({ TableName: saga.tables.PAYMENTS_TABLE_NAME, Key: key, ConsistentRead: true }))).Item!;

const cursorOf = async (merchantId: string) =>
  (await documentClient().send(new GetCommand({ TableName: saga.tables.PAYMENTS_TABLE_NAME, Key: paymentScanCursorKey(merchantId), ConsistentRead: true }))).Item;

// Each test leaves nothing open behind it (every payment ends terminal or handed over), so the runs
// of one test see only its own items.
describe('Reconciliation: a payment stuck in a non-terminal status beyond STUCK_AFTER_SECONDS', () => {
  it('gets its saga started under payment-<id>, which finishes it; a payment younger than the bound is left to the outbox, a terminal one is only read', async () => {
    const merchantId = freshMerchant();
    await table.createPayment({ merchantId, status: 'succeeded' }, minutesAgo(25));
    const stuck = await table.createPayment({ merchantId }, minutesAgo(20));
    const recent = await table.createPayment({ merchantId }, minutesAgo(1));

    const summary = await runReconciliation();
    expect(summary).toMatchObject({ examined: 1, outcomes: { started: 1 } });
    // Stuck-payment signals, read before acting: the oldest open payment's age; no refund open.
    expect(summary.oldestOpenAgeSeconds.payment).toBeGreaterThanOrEqual(20 * 60 - 1);
    expect(summary.oldestOpenAgeSeconds.payment).toBeLessThan(21 * 60);
    expect(summary.oldestOpenAgeSeconds.refund).toBe(0);
    const [execution] = executionsNamed(`payment-${stuck.id}`);
    expect(JSON.parse(execution!.input)).toEqual({ paymentId: stuck.id });
    expect(await saga.payment(stuck.id)).toMatchObject({ status: 'succeeded' });
    await saga.assertInvariants(stuck.id);
    expect(executionsNamed(`payment-${recent.id}`)).toEqual([]);
    await saga.runPaymentSaga(recent.id);
    // The restarted payment was watched: the next run reads it terminal and lets it go.
    expect(await runReconciliation()).toMatchObject({ examined: 1, outcomes: { terminal: 1 } });
    expect((await runReconciliation()).examined).toBe(0);
  });

  it('a stuck refund gets the refund saga under refund-<id>', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 5000 });
    await saga.runPaymentSaga(payment.id);
    const refund = await table.createRefund(await saga.payment(payment.id), 2000, minutesAgo(30));
    await table.update(paymentKey(payment.id), { amountRefundable: 3000 });

    const summary = await runReconciliation();
    expect(summary.outcomes.started).toBe(1);
    expect(summary.oldestOpenAgeSeconds).toMatchObject({ payment: 0 });
    expect(summary.oldestOpenAgeSeconds.refund).toBeGreaterThanOrEqual(30 * 60 - 1);
    const [execution] = executionsNamed(`refund-${refund.id}`);
    expect(JSON.parse(execution!.input)).toEqual({ paymentId: payment.id, refundId: refund.id });
    expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'succeeded' });
    await saga.assertInvariants(payment.id);
  });

  it('pages through every open payment (RECONCILE_MAX_ITEMS is the page size, not a window), oldest first, and counts each restart on the item', async () => {
    const paged = await importBundledHandler('ReconciliationReconcile', { ...env, RECONCILE_MAX_ITEMS: '2' });
    const merchantId = freshMerchant();
    const payments = [await table.createPayment({ merchantId }, minutesAgo(40)), await table.createPayment({ merchantId }, minutesAgo(30)), await table.createPayment({ merchantId }, minutesAgo(20))];

    const summary = await runReconciliation(paged);
    expect(summary).toMatchObject({ examined: 3, outcomes: { started: 3 } });
    expect(payments.map((payment) => executionsNamed(`payment-${payment.id}`).length)).toEqual([1, 1, 1]);
    for (const payment of payments) {
      expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
      expect((await stored(paymentKey(payment.id))).reconcileRestarts).toBe(1);
    }
    expect(await runReconciliation(paged)).toMatchObject({ examined: 3, outcomes: { terminal: 3 } });
  });

  it('is found by a later run when it was accepted after an earlier run moved the merchant\'s cursor, and a restarted payment is watched until it is terminal', async () => {
    // A bound of 0.2 s: the cursor really moves between runs, as it does every 5 minutes in a stack.
    const quick = await importBundledHandler('ReconciliationReconcile', { ...env, STUCK_AFTER_SECONDS: '0.2' });
    const merchantId = freshMerchant();
    const settle = () => new Promise((resolve) => setTimeout(resolve, 300));
    const first = await table.createPayment({ merchantId });
    await settle();
    expect(await runReconciliation(quick)).toMatchObject({ examined: 1, outcomes: { started: 1 } });
    const afterFirstRun = await cursorOf(merchantId);
    expect(afterFirstRun).toMatchObject({ watching: [first.id], version: 1 });
    expect(afterFirstRun!.after > `${first.createdAt}#${first.id}`).toBe(true);

    const second = await table.createPayment({ merchantId });
    await settle();
    // The watched payment is read again (its saga finished it: dropped), the new one is found behind the cursor.
    expect(await runReconciliation(quick)).toMatchObject({ examined: 2, outcomes: { terminal: 1, started: 1 } });
    expect(executionsNamed(`payment-${second.id}`)).toHaveLength(1);
    expect(await cursorOf(merchantId)).toMatchObject({ watching: [second.id] });
    expect(await runReconciliation(quick)).toMatchObject({ examined: 1, outcomes: { terminal: 1 } });
    expect(await cursorOf(merchantId)).toMatchObject({ watching: [] });
    expect((await runReconciliation(quick)).examined).toBe(0);
    for (const payment of [first, second]) expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
  });
});

describe('Reconciliation: a run that runs out of time', () => {
  it('stores how far it got (the cursor after the last payment it examined, the restarted one watched); the next run goes on from there', async () => {
    // The use case itself, on the real adapters, with an invocation whose time is up right after the first restart.
    const [{ reconcile: reconcileUseCase }, { PaymentsTable: PaymentsTableAdapter }, { sagaStarterFromSettings }, { sqsQueueFromSettings }] = await Promise.all([
      import('../../../lambdas/application/reconcile.ts'),
      import('../../../lambdas/adapters/dynamodb/payments-table.ts'),
      import('../../../lambdas/adapters/step-functions-saga-starter.ts'),
      import('../../../lambdas/adapters/sqs-queue.ts'),
    ]);
    const merchantId = freshMerchant();
    const payments = [await table.createPayment({ merchantId }, minutesAgo(40)), await table.createPayment({ merchantId }, minutesAgo(30)), await table.createPayment({ merchantId }, minutesAgo(20))];
    const adapter = new PaymentsTableAdapter(documentClient(), saga.tables.PAYMENTS_TABLE_NAME!);
    const run = reconcileUseCase({
      openItems: adapter,
      payments: adapter,
      merchantIds: [merchantId],
      starter: sagaStarterFromSettings(),
      operatorQueue: sqsQueueFromSettings('sagaFailuresQueueUrl'),
      operatorQueueIsFifo: saga.sagaFailuresQueueUrl.endsWith('.fifo'),
      stuckAfterSeconds: STUCK_AFTER_SECONDS,
      pageSize: 2,
      maxRestarts: 3,
    });
    const first = payments[0]!;
    const summary = await run(() => (executionsNamed(`payment-${first.id}`).length > 0 ? 0 : Infinity));
    await saga.stepFunctions.idle();
    expect(summary).toMatchObject({ examined: 1, outcomes: { started: 1 } });
    expect(await cursorOf(merchantId)).toMatchObject({ after: `${first.createdAt}#${first.id}`, watching: [first.id] });

    expect(await runReconciliation()).toMatchObject({ examined: 3, outcomes: { terminal: 1, started: 2 } });
    expect(payments.map((payment) => executionsNamed(`payment-${payment.id}`).length)).toEqual([1, 1, 1]);
    expect(await runReconciliation()).toMatchObject({ examined: 2, outcomes: { terminal: 2 } });
  });
});

describe('Reconciliation: merchants sharing a run', () => {
  it('gives each merchant an equal share of the time left: a merchant with a long backlog does not keep the next one waiting', async () => {
    const [{ reconcile: reconcileUseCase }, { PaymentsTable: PaymentsTableAdapter }, { sagaStarterFromSettings }, { sqsQueueFromSettings }] = await Promise.all([
      import('../../../lambdas/application/reconcile.ts'),
      import('../../../lambdas/adapters/dynamodb/payments-table.ts'),
      import('../../../lambdas/adapters/step-functions-saga-starter.ts'),
      import('../../../lambdas/adapters/sqs-queue.ts'),
    ]);
    const [busy, next] = [freshMerchant(), freshMerchant()];
    const backlog = [await table.createPayment({ merchantId: busy }, minutesAgo(50)), await table.createPayment({ merchantId: busy }, minutesAgo(40)), await table.createPayment({ merchantId: busy }, minutesAgo(30))];
    const waiting = await table.createPayment({ merchantId: next }, minutesAgo(20));
    const adapter = new PaymentsTableAdapter(documentClient(), saga.tables.PAYMENTS_TABLE_NAME!);
    const run = reconcileUseCase({
      openItems: adapter,
      payments: adapter,
      merchantIds: [busy, next],
      starter: sagaStarterFromSettings(),
      operatorQueue: sqsQueueFromSettings('sagaFailuresQueueUrl'),
      operatorQueueIsFifo: saga.sagaFailuresQueueUrl.endsWith('.fifo'),
      stuckAfterSeconds: STUCK_AFTER_SECONDS,
      pageSize: 10,
      maxRestarts: 3,
    });
    // A 25 s invocation where each restart costs 8 s: in merchant order, the busy merchant's three restarts would use
    // it all (25 → 17 → 9 → 1 s, under the 5 s margin) and the next merchant's stuck payment would wait for a later run.
    // (Earlier tests' merchants have cursors too, so they share the run as well.)
    const restarted = (payment: { id: string }) => executionsNamed(`payment-${payment.id}`).length;
    await run(() => 25_000 - 8_000 * [...backlog, waiting].filter(restarted).length);
    await saga.stepFunctions.idle();
    expect(restarted(waiting)).toBe(1);
    expect(backlog.filter(restarted).length).toBeGreaterThan(0);
    expect(backlog.filter(restarted).length).toBeLessThan(backlog.length);
    await runReconciliation();
    expect(backlog.map(restarted)).toEqual([1, 1, 1]);
    await runReconciliation(); // drops the finished payments from the watch lists: the next test's runs see none of them
    for (const merchantId of [busy, next]) expect(await cursorOf(merchantId)).toMatchObject({ watching: [] });
  });
});

describe('Reconciliation: a payment an earlier version wrote into the open-items index', () => {
  it('is restarted once from that index (not again from its merchant\'s payments) and leaves the index with its terminal write', async () => {
    const merchantId = freshMerchant();
    const earlier = await table.createPayment({ merchantId, openEntity: 'payment' }, minutesAgo(20));

    const summary = await runReconciliation();
    expect(summary).toMatchObject({ examined: 1, outcomes: { started: 1 } });
    expect(summary.oldestOpenAgeSeconds.payment).toBeGreaterThanOrEqual(20 * 60 - 1);
    expect(executionsNamed(`payment-${earlier.id}`)).toHaveLength(1);
    expect(await saga.payment(earlier.id)).toMatchObject({ status: 'succeeded' });
    expect((await stored(paymentKey(earlier.id))).openEntity).toBeUndefined();
    expect((await runReconciliation()).examined).toBe(0);
  });
});

describe('Reconciliation: an item restarted RECONCILE_MAX_RESTARTS times and still open', () => {
  it('is handed to the saga-failures queue (kind restarts_exhausted) instead of being restarted again, once, and is not examined again', async () => {
    const exhausted = await table.createPayment({ merchantId: freshMerchant(), reconcileRestarts: 3 } as never, minutesAgo(60));

    const summary = await runReconciliation();
    expect(summary.outcomes).toMatchObject({ gaveUp: 1, started: 0 });
    expect(executionsNamed(`payment-${exhausted.id}`)).toEqual([]);
    const flags = await saga.drainSagaFailures();
    expect(flags).toEqual([
      expect.objectContaining({
        source: 'reconciliation',
        kind: 'restarts_exhausted',
        reason: expect.stringMatching(/restarted the payment saga 3 time\(s\) and the payment is still pending/),
        saga: 'payment',
        input: { paymentId: exhausted.id },
        item: expect.objectContaining({ id: exhausted.id, status: 'pending', reconcileRestarts: 3 }),
      }),
    ]);
    const item = await stored(paymentKey(exhausted.id));
    expect(item.openEntity).toBeUndefined();
    expect(item.reconciliationFlaggedAt).toBe(flags[0]!.flaggedAt);
    expect((await runReconciliation()).examined).toBe(0);
    expect(await saga.drainSagaFailures()).toEqual([]);
    await table.update(paymentKey(exhausted.id), { status: 'failed' });
  });

  it('older items that keep failing cannot hide newer stuck ones: with a page of 2, three given-up items and two newer stuck ones are all handled in one run', async () => {
    const paged = await importBundledHandler('ReconciliationReconcile', { ...env, RECONCILE_MAX_ITEMS: '2', RECONCILE_MAX_RESTARTS: '2' });
    const merchantId = freshMerchant();
    const failing = [90, 80, 70].map((minutes) => table.createPayment({ merchantId, reconcileRestarts: 2 } as never, minutesAgo(minutes)));
    const newer = [30, 20].map((minutes) => table.createPayment({ merchantId }, minutesAgo(minutes)));
    const [old, fresh] = [await Promise.all(failing), await Promise.all(newer)];

    const summary = await runReconciliation(paged);
    expect(summary).toMatchObject({ examined: 5, outcomes: { gaveUp: 3, started: 2 } });
    for (const payment of fresh) expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
    expect((await saga.drainSagaFailures()).map((flag) => flag.input.paymentId).sort()).toEqual(old.map((payment) => payment.id).sort());
    for (const payment of old) await table.update(paymentKey(payment.id), { status: 'failed' });
    // The two restarted ones are watched until the next run reads them terminal.
    expect(await runReconciliation(paged)).toMatchObject({ examined: 2, outcomes: { terminal: 2 } });
  });
});

describe('Reconciliation: a terminal payment', () => {
  it('is left alone, even while it is still in the open-items index', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success' });
    await saga.runPaymentSaga(payment.id);
    // As if the index write lagged behind the terminal write: the item is succeeded but still marked open.
    await table.update(paymentKey(payment.id), { openEntity: 'payment', createdAt: minutesAgo(20).toISOString() });
    const executionsBefore = executionsNamed(`payment-${payment.id}`).length;

    const summary = await runReconciliation();
    expect(summary).toMatchObject({ examined: 1, outcomes: { started: 0, running: 0, flagged: 0, gaveUp: 0, terminal: 1 } });
    expect(executionsNamed(`payment-${payment.id}`)).toHaveLength(executionsBefore);
    expect(await saga.drainSagaFailures()).toEqual([]);
    await table.update(paymentKey(payment.id), {}, ['openEntity']);
  });
});

describe('Reconciliation: a saga that ended while its payment is still not terminal', () => {
  it('is flagged once to the saga-failures queue with a reason, and marked handed over', async () => {
    const payment = await table.createPayment({ merchantId: freshMerchant() }, minutesAgo(20));
    const execution = await saga.runPaymentSaga(payment.id);
    expect(execution.status).toBe('SUCCEEDED');
    // A lost terminal write: the execution ended, the item still says processing.
    await table.update(paymentKey(payment.id), { status: 'processing' });

    const summary = await runReconciliation();
    expect(summary.outcomes).toMatchObject({ flagged: 1, started: 0 });
    expect(executionsNamed(`payment-${payment.id}`)).toHaveLength(1);
    const flags = await saga.drainSagaFailures();
    expect(flags).toEqual([
      expect.objectContaining({
        source: 'reconciliation',
        kind: 'execution_ended',
        reason: expect.stringMatching(/payment saga execution ended \(SUCCEEDED\) but the payment is still processing/),
        saga: 'payment',
        input: { paymentId: payment.id },
        executionArn: execution.executionArn,
        executionStatus: 'SUCCEEDED',
        item: expect.objectContaining({ id: payment.id, status: 'processing' }),
      }),
    ]);
    expect(flags[0]!.item).not.toHaveProperty('requestHash');
    const item = await stored(paymentKey(payment.id));
    expect(item.reconciliationFlaggedAt).toBe(flags[0]!.flaggedAt);

    const again = await runReconciliation();
    expect(again.examined).toBe(0);
    expect(await saga.drainSagaFailures()).toEqual([]);
  });
});

describe('Reconciliation: a saga that is still running', () => {
  it('is left alone: not restarted, not flagged, and examined again on the next run until it is terminal', async () => {
    // A stand-in for the payment saga that runs until released, behind the same local Step Functions
    // API: what is under test is how reconciliation reads a RUNNING execution, not the saga.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const slowSaga: LocalStateMachine = {
      ...saga.paymentSaga,
      run: () => ({ result: released.then(() => ({})), abort: release, events: (async function* () {})() }),
    };
    const slowStepFunctions = new LocalStepFunctions([slowSaga, saga.refundSaga]);
    const slowServer = await startStepFunctionsServer(slowStepFunctions);
    try {
      const handler = await importBundledHandler('ReconciliationReconcile', { ...env, AWS_ENDPOINT_URL_SFN: slowServer.endpoint });
      const merchantId = freshMerchant();
      const payment = await table.createPayment({ merchantId }, minutesAgo(20));
      const started = slowStepFunctions.startExecution({ stateMachineArn: slowSaga.arn, name: `payment-${payment.id}`, input: JSON.stringify({ paymentId: payment.id }) });
      // Started well before the reconciliation run, as a slow saga would have been.
      await eventually(async () => (Date.now() - started.startDate.getTime() > 2_500 ? true : undefined), 'the execution to age');

      for (let run = 0; run < 2; run++) {
        const summary = (await handler({})) as ReconcileSummary;
        expect(summary).toMatchObject({ examined: 1, outcomes: { running: 1, started: 0, flagged: 0 } });
      }
      expect(slowStepFunctions.listExecutions()).toHaveLength(1);
      expect(await saga.drainSagaFailures()).toEqual([]);
      expect(await cursorOf(merchantId)).toMatchObject({ watching: [payment.id] });
      await table.update(paymentKey(payment.id), { status: 'failed' });
      expect((await handler({})) as ReconcileSummary).toMatchObject({ examined: 1, outcomes: { terminal: 1 } });
      expect(await cursorOf(merchantId)).toMatchObject({ watching: [] });
    } finally {
      release();
      await slowServer.close();
    }
  });
});
