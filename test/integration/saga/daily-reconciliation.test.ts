// The daily reconciliation (issue 12) on DynamoDB Local and a real queue: the bundled handler of the
// synthesized stack reconciles a day of payments captured and posted as the saga leaves them (the
// processor's records and the Payments table's posting transaction), plus discrepancies the test injects with an
// admin client (setup outside the code under test): each is reported once, the recoverable ones are
// posted once through the saga's own posting, and a second run of the day changes nothing.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import type { PaymentItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { PaymentsTable } from '../../../lambdas/adapters/dynamodb/payments-table.ts';
import type { ProcessorRecord } from '../../../lambdas/adapters/simulated-processor.ts';
import type { DailyReport } from '../../../lambdas/domain/daily-reconciliation.ts';
import type { CfnTemplate } from '../../../tools/local-runner/template.ts';
import { documentClient, testTemplate } from '../../support/aws.ts';
import { testCdkOut } from '../../support/paths.ts';
import { createSagaHarness, type SagaHarness } from './saga-harness.ts';

let harness: SagaHarness;
let reconcile: (event: { day: string }) => Promise<DailyReport>;
const db = documentClient();
const today = new Date().toISOString().slice(0, 10);

beforeAll(async () => {
  harness = await createSagaHarness();
  // The function's environment as the construct writes it; captures settle at once (the test's day is today).
  Object.assign(process.env, { SAGA_FAILURES_QUEUE_URL: harness.sagaFailuresQueueUrl, RECONCILIATION_SETTLE_SECONDS: '0' });
  const template = testTemplate() as CfnTemplate;
  const [, resource] = Object.entries(template.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('DailyReconciliationReconcileDay'))!;
  const module = await import(/* @vite-ignore */ pathToFileURL(join(testCdkOut(), String(resource.Metadata!['aws:asset:path']), 'index.mjs')).href);
  reconcile = (event) => module.handler(event);
}, 60_000);

/** A capture the processor recorded, written directly to its table (with its authorization). */
async function injectCapture(payment: PaymentItem, amount = payment.amount): Promise<void> {
  const now = new Date().toISOString();
  const common = { reference: payment.id, source: 'tok_success', outcome: 'succeeded' as const, createdAt: now, expiresAt: Math.floor(Date.now() / 1000) + 3600 };
  const records: Array<Partial<ProcessorRecord>> = [
    { ...common, key: `${payment.id}:authorize`, operation: 'authorize', amount: payment.amount, currency: payment.currency, authorizationId: `auth_${payment.id}` },
    { ...common, key: `${payment.id}:capture`, operation: 'capture', amount, currency: payment.currency, authorizationId: `auth_${payment.id}`, captureId: `cap_${payment.id}`, refundedAmount: 0, capturedDay: today },
  ];
  for (const record of records) await db.send(new PutCommand({ TableName: harness.tables.PROCESSOR_TABLE_NAME, Item: record }));
}

/** Captured and posted as the saga's Capture and PostLedger steps leave it: the processor's records, and the saga's own posting transaction. */
async function postedPayment(): Promise<PaymentItem> {
  const payment = await harness.seedPayment({ status: 'processing' });
  await injectCapture(payment);
  await new PaymentsTable(db, harness.tables.PAYMENTS_TABLE_NAME!).postCaptureLedger({ ...payment, paymentId: payment.id, authorizationId: `auth_${payment.id}`, postedAt: new Date().toISOString() });
  return harness.payment(payment.id);
}

async function reportItems(day: string) {
  const { Items = [] } = await db.send(new QueryCommand({ TableName: harness.tables.DAILY_REPORTS_TABLE_NAME, KeyConditionExpression: '#day = :day', ExpressionAttributeNames: { '#day': 'day' }, ExpressionAttributeValues: { ':day': day }, ConsistentRead: true }));
  return Items;
}

describe('a day with injected discrepancies', () => {
  it('reports each one, recovers the recoverable once, and a second run changes nothing', async () => {
    const matched = [await postedPayment(), await postedPayment()];

    // The processor captured, the saga never posted: recoverable from processing and from pending.
    const processing = await harness.seedPayment({ status: 'processing' });
    const pending = await harness.seedPayment();
    await injectCapture(processing);
    await injectCapture(pending);

    // The ledger shows a capture the processor lacks.
    const missingAtProcessor = await postedPayment();
    await db.send(new DeleteCommand({ TableName: harness.tables.PROCESSOR_TABLE_NAME, Key: { key: `${missingAtProcessor.id}:capture` } }));

    // The amounts differ.
    const mismatched = await postedPayment();
    await db.send(new UpdateCommand({ TableName: harness.tables.PROCESSOR_TABLE_NAME, Key: { key: `${mismatched.id}:capture` }, UpdateExpression: 'SET amount = :amount', ExpressionAttributeValues: { ':amount': mismatched.amount + 100 } }));

    // The processor captured a payment that failed, and nothing gave the money back.
    const failed = await harness.seedPayment({ status: 'failed', amountCaptured: 0 });
    await injectCapture(failed);

    await harness.drainSagaFailures();
    const first = await reconcile({ day: today });

    expect(first.counts).toEqual({
      processorCaptures: 6,
      ledgerPostings: 6,
      matched: 2,
      inFlight: 0,
      recovered: 2,
      discrepancies: { amount_mismatch: 1, unposted_capture: 1, missing_at_processor: 1 },
    });
    const kinds = Object.fromEntries(first.findings.map((finding) => [finding.paymentId, finding.kind]));
    expect(kinds).toEqual({
      [processing.id]: 'recovered',
      [pending.id]: 'recovered',
      [missingAtProcessor.id]: 'missing_at_processor',
      [mismatched.id]: 'amount_mismatch',
      [failed.id]: 'unposted_capture',
    });
    for (const matchedPayment of matched) expect(kinds[matchedPayment.id]).toBeUndefined();

    // Recovered through the saga's posting: succeeded, one balanced capture posting of the amount.
    for (const recovered of [processing, pending]) {
      const payment = await harness.payment(recovered.id);
      expect(payment).toMatchObject({ status: 'succeeded', amountCaptured: recovered.amount, authorizationId: `auth_${recovered.id}` });
      expect(payment.openEntity).toBeUndefined();
      await harness.assertInvariants(recovered.id);
    }
    // Not touched: the failed payment stays failed, without a posting.
    expect((await harness.payment(failed.id)).status).toBe('failed');
    expect(await harness.postings(failed.id)).toEqual([]);

    // One operator message per discrepancy, saying what it is.
    const messages = await harness.drainSagaFailures();
    expect(messages.map((message) => [message.paymentId, message.kind, message.source]).sort()).toEqual(
      [
        [missingAtProcessor.id, 'missing_at_processor', 'daily-reconciliation'],
        [mismatched.id, 'amount_mismatch', 'daily-reconciliation'],
        [failed.id, 'unposted_capture', 'daily-reconciliation'],
      ].sort(),
    );
    expect(messages.find((message) => message.paymentId === mismatched.id)?.detail).toContain(`${mismatched.amount + 100} USD`);

    // The report is stored: its counts and one finding per payment.
    const stored = await reportItems(today);
    expect(stored.find((item) => item.item === 'REPORT')).toMatchObject({ counts: first.counts });
    expect(stored.filter((item) => String(item.item).startsWith('FINDING#'))).toHaveLength(5);

    // Second run: same report, no message, no posting, no payment changed.
    const before = await Promise.all([processing, pending, failed, missingAtProcessor, mismatched].map(async (p) => [await harness.payment(p.id), await harness.postings(p.id)]));
    const second = await reconcile({ day: today });
    expect(second.counts).toEqual(first.counts);
    expect(second.findings.map((f) => [f.paymentId, f.kind, f.foundAt]).sort()).toEqual(first.findings.map((f) => [f.paymentId, f.kind, f.foundAt]).sort());
    expect(await harness.drainSagaFailures()).toEqual([]);
    const after = await Promise.all([processing, pending, failed, missingAtProcessor, mismatched].map(async (p) => [await harness.payment(p.id), await harness.postings(p.id)]));
    expect(after).toEqual(before);
    const report = await db.send(new GetCommand({ TableName: harness.tables.DAILY_REPORTS_TABLE_NAME, Key: { day: today, item: 'REPORT' }, ConsistentRead: true }));
    expect(report.Item?.counts).toEqual(first.counts);
  });

  it('refuses a day that is not YYYY-MM-DD', async () => {
    await expect(reconcile({ day: '2026-02-30' })).rejects.toThrow(/Not a day/);
  });
});
