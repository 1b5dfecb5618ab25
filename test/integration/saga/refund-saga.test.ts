import { beforeAll, describe, expect, it } from 'vitest';
import type { PaymentItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { createSagaHarness, statesEntered, type SagaHarness } from './saga-harness.ts';

// The synthesized RefundSaga definition on aws-local-stepfunctions; every task is the real bundled
// handler on DynamoDB Local. Each payment is made succeeded by running the real PaymentSaga first,
// so the processor holds a real capture to refund; refunds are reserved as the create-refund API does.
let saga: SagaHarness;
beforeAll(async () => {
  saga = await createSagaHarness();
});

async function succeededPayment(source = 'tok_success', amount = 3000): Promise<PaymentItem> {
  const payment = await saga.seedPayment({ source, amount });
  const execution = await saga.runPaymentSaga(payment.id);
  expect(execution.status).toBe('SUCCEEDED');
  return saga.payment(payment.id);
}

describe('RefundSaga: partial refund', () => {
  it('refunds at the processor, posts a balanced reversal and leaves the payment partially_refunded', async () => {
    const payment = await succeededPayment('tok_success', 3000);
    const refund = await saga.seedRefund(payment, 1200);
    const execution = await saga.runRefundSaga(payment.id, refund.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual(['RefundAtProcessor', 'PostRefundLedger']);
    expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'succeeded' });
    expect((await saga.refund(payment.id, refund.id)).openEntity).toBeUndefined();
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'partially_refunded', amountCaptured: 3000, amountRefunded: 1200, amountRefundable: 1800 });
    const posting = (await saga.postings(payment.id)).find((item) => item.SK === `POSTING#refund#${refund.id}`);
    expect(posting?.lines).toEqual([
      { account: 'merchant:merchant-a', amount: 1200 },
      { account: 'processor_clearing', amount: -1200 },
    ]);
    expect((await saga.processorRecords(refund.id)).map((record) => [record.operation, record.outcome, record.amount])).toEqual([['refund', 'succeeded', 1200]]);
    await saga.assertInvariants(payment.id);
  });
});

describe('RefundSaga: full refund', () => {
  it('refunds everything and leaves the payment refunded', async () => {
    const payment = await succeededPayment('tok_success', 2500);
    const refund = await saga.seedRefund(payment, 2500);
    const execution = await saga.runRefundSaga(payment.id, refund.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'refunded', amountRefunded: 2500, amountRefundable: 0 });
    await saga.assertInvariants(payment.id);
  });

  it('two partial refunds at once add up to refunded (optimistic on amountRefunded)', async () => {
    const payment = await succeededPayment('tok_success', 2000);
    const first = await saga.seedRefund(payment, 700);
    const second = await saga.seedRefund(await saga.payment(payment.id), 1300);
    const executions = await Promise.all([saga.runRefundSaga(payment.id, first.id), saga.runRefundSaga(payment.id, second.id)]);

    expect(executions.map((execution) => execution.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'refunded', amountRefunded: 2000, amountRefundable: 0 });
    expect(await saga.postings(payment.id)).toHaveLength(3);
    await saga.assertInvariants(payment.id);
  });
});

describe('RefundSaga: 50 concurrent refunds of one payment', () => {
  it('posts every one: the payment, the ledger and the processor agree', async () => {
    const payment = await succeededPayment('tok_success', 10_000);
    const refunds = [];
    for (let i = 0; i < 50; i++) refunds.push(await saga.seedRefund(await saga.payment(payment.id), 200));

    const executions = await Promise.all(refunds.map((refund) => saga.runRefundSaga(payment.id, refund.id)));

    expect(executions.map((execution) => `${execution.status} ${execution.error ?? ''}`.trim())).toEqual(Array(50).fill('SUCCEEDED'));
    const items = await Promise.all(refunds.map((refund) => saga.refund(payment.id, refund.id)));
    expect(items.map((item) => item.status)).toEqual(Array(50).fill('succeeded'));
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'refunded', amountCaptured: 10_000, amountRefunded: 10_000, amountRefundable: 0 });
    expect((await saga.postings(payment.id)).filter((posting) => posting.SK.startsWith('POSTING#refund#'))).toHaveLength(50);
    const [capture] = await saga.processorRecords(`${payment.id}`).then((records) => records.filter((record) => record.operation === 'capture'));
    expect(capture?.refundedAmount).toBe(10_000);
    expect(await saga.drainSagaFailures()).toEqual([]);
    await saga.assertInvariants(payment.id);
  });
});

describe('RefundSaga: the processor refuses the refund', () => {
  it('releases the reservation: the refund fails and its amount is refundable again', async () => {
    const payment = await succeededPayment('tok_refund_fail', 1500);
    const refund = await saga.seedRefund(payment, 500);
    expect((await saga.payment(payment.id)).amountRefundable).toBe(1000);

    const execution = await saga.runRefundSaga(payment.id, refund.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual(['RefundAtProcessor', 'ReleaseRefund']);
    expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'failed', failureCode: 'refund_declined' });
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded', amountRefunded: 0, amountRefundable: 1500 });
    expect((await saga.postings(payment.id)).filter((posting) => posting.SK.startsWith('POSTING#refund#'))).toEqual([]);
    await saga.assertInvariants(payment.id);
  });
});

describe('RefundSaga: tok_timeout', () => {
  it('retries after the ambiguous timeout and refunds exactly once', async () => {
    const payment = await succeededPayment('tok_timeout', 900);
    const refund = await saga.seedRefund(payment, 900);
    const execution = await saga.runRefundSaga(payment.id, refund.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(execution.events.filter((event) => event.type === 'StateRetried' && event.stateName === 'RefundAtProcessor')).toHaveLength(1);
    expect(await saga.processorRecords(refund.id)).toHaveLength(1);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'refunded', amountRefunded: 900 });
    await saga.assertInvariants(payment.id);
  });
});

describe('RefundSaga: the ledger refuses a refund the processor made', () => {
  it('does not release it (that could refund twice) but lands the case in the saga-failures queue', async () => {
    const payment = await succeededPayment('tok_success', 1100);
    const refund = await saga.seedRefund(payment, 400);
    // Fault injection: PostRefundLedger's function runs with a Payments table that does not exist.
    const restore = await saga.injectFault('PostRefundLedger', { PAYMENTS_TABLE_NAME: 'missing-payments-table' });
    try {
      const execution = await saga.runRefundSaga(payment.id, refund.id);

      expect(execution.status).toBe('FAILED');
      expect(execution.error).toBe('CompensationFailed');
      const [message] = await saga.drainSagaFailures();
      expect(message).toMatchObject({
        saga: 'refund',
        executionArn: execution.executionArn,
        state: { paymentId: payment.id, refundId: refund.id, amount: 400, processorRefundId: `rfnd_${refund.id}`, error: { Error: 'ResourceNotFoundException' } },
      });
      expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'pending', openEntity: 'refund' });
      expect(await saga.payment(payment.id)).toMatchObject({ amountRefunded: 0, amountRefundable: 700 });
    } finally {
      restore();
    }
  });
});

describe('RefundSaga: duplicate delivery', () => {
  it('a second run after success changes nothing', async () => {
    const payment = await succeededPayment('tok_success', 1000);
    const refund = await saga.seedRefund(payment, 250);
    await saga.runRefundSaga(payment.id, refund.id);
    const [paymentBefore, refundBefore] = await Promise.all([saga.payment(payment.id), saga.refund(payment.id, refund.id)]);

    const second = await saga.runRefundSaga(payment.id, refund.id, `refund-${refund.id}-again`);

    // A refund no longer pending passes through PostRefundLedger untouched (no Choice state billed on every refund).
    expect(statesEntered(second)).toEqual(['RefundAtProcessor', 'PostRefundLedger']);
    expect(await saga.payment(payment.id)).toEqual(paymentBefore);
    expect(await saga.refund(payment.id, refund.id)).toEqual(refundBefore);
    expect(await saga.processorRecords(refund.id)).toHaveLength(1);
    await saga.assertInvariants(payment.id);
  });

  it('a second run after a release changes nothing', async () => {
    const payment = await succeededPayment('tok_refund_fail', 1000);
    const refund = await saga.seedRefund(payment, 1000);
    await saga.runRefundSaga(payment.id, refund.id);
    const [before, refundBefore, recordsBefore] = await Promise.all([saga.payment(payment.id), saga.refund(payment.id, refund.id), saga.processorRecords(refund.id)]);
    expect(refundBefore.status).toBe('failed');

    const second = await saga.runRefundSaga(payment.id, refund.id, `refund-${refund.id}-again`);

    expect(second.status).toBe('SUCCEEDED');
    expect(statesEntered(second)).toEqual(['RefundAtProcessor', 'PostRefundLedger']);
    expect(await saga.payment(payment.id)).toEqual(before);
    expect(await saga.refund(payment.id, refund.id)).toEqual(refundBefore);
    expect(await saga.processorRecords(refund.id)).toEqual(recordsBefore);
    await saga.assertInvariants(payment.id);
  });
});
