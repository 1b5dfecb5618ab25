import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { documentClient } from '../../support/aws.ts';
import { createSagaHarness, statesEntered, type SagaHarness } from './saga-harness.ts';

// The processor's circuit breaker in the twin: the synthesized PaymentSaga on aws-local-stepfunctions,
// every task the real bundled handler on DynamoDB Local, the breaker's state in its own table.
// The bundles read their settings from this environment (as Lambda does from the template's): a
// breaker that opens after 3 failures and stays open 0.4 s. The fault is outside the code under test:
// Authorize runs with a processor table that does not exist, so the processor "does not answer".
process.env.BREAKER_FAILURE_THRESHOLD = '3';
process.env.BREAKER_WINDOW_SECONDS = '60';
process.env.BREAKER_OPEN_SECONDS = '0.4';
/** The pause of Authorize's CircuitOpen retrier here (the definition says waitSeconds, 10 s by default); its MaxAttempts is the definition's. */
const BREAKER_WAIT_MS = 150;

let saga: SagaHarness;
beforeAll(async () => {
  // Authorize's retriers in order: Lambda service errors (LambdaInvoke's own), Lambda throttling, a timed-out or crashed
  // function, transient processor errors, CircuitOpen.
  saga = await createSagaHarness({ retryIntervals: { Authorize: [1, 1, 1, 1, BREAKER_WAIT_MS] } });
});

const breakerState = async () => {
  const { Item } = await documentClient().send(new GetCommand({ TableName: saga.tables.CIRCUIT_BREAKER_TABLE_NAME, Key: { key: 'processor' }, ConsistentRead: true }));
  return Item;
};

const until = async (condition: () => Promise<boolean>, timeoutMs = 10_000) => {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
};

const circuitOpenRetries = (execution: { events: readonly { type: string; stateName?: string; error?: string }[] }) =>
  execution.events.filter((event) => event.stateName === 'Authorize' && event.error === 'CircuitOpen' && event.type === 'StateRetried').length ||
  execution.events.filter((event) => event.stateName === 'Authorize' && event.error === 'CircuitOpen').length;

describe('circuit breaker: the processor fails hard, then recovers', () => {
  it('opens after the configured failures; new payments wait with nothing authorized, then all succeed once a probe succeeds', async () => {
    const restore = await saga.injectFault('Authorize', { PROCESSOR_TABLE_NAME: 'missing-processor-table' });
    let restored = false;
    try {
      const payments = await Promise.all(Array.from({ length: 6 }, () => saga.seedPayment({ source: 'tok_success', amount: 1500 })));
      const runs = payments.map((payment) => saga.runPaymentSaga(payment.id));

      await until(async () => typeof (await breakerState())?.openedUntil === 'number');
      // Open: payments wait in Authorize; nothing is authorized and none has failed.
      await new Promise((resolve) => setTimeout(resolve, 600));
      for (const payment of payments) {
        expect(await saga.processorRecords(payment.id)).toEqual([]);
        expect((await saga.payment(payment.id)).status).toBe('pending');
      }
      restore();
      restored = true;

      const executions = await Promise.all(runs);
      for (const [index, execution] of executions.entries()) {
        expect(execution.status).toBe('SUCCEEDED');
        expect(statesEntered(execution)).not.toContain('AuthorizationUnavailable');
        expect(await saga.payment(payments[index]!.id)).toMatchObject({ status: 'succeeded', amountCaptured: 1500 });
        await saga.assertInvariants(payments[index]!.id); // one authorization, one capture
      }
      // They waited on the breaker: more Authorize failures than the 4 transient retries would allow, in all.
      expect(executions.reduce((sum, execution) => sum + circuitOpenRetries(execution), 0)).toBeGreaterThan(payments.length);
      // Closed again by the probe: a new generation, nothing open.
      const state = await breakerState();
      expect(state?.openedUntil).toBeUndefined();
      expect(state?.generation).toBe(1);
    } finally {
      if (!restored) restore();
    }
  });
});

describe('circuit breaker: the processor stays down past the hold time', () => {
  it('payments fail cleanly: voided, marked failed with processor_unavailable, nothing authorized or captured', async () => {
    const restore = await saga.injectFault('Authorize', { PROCESSOR_TABLE_NAME: 'missing-processor-table' });
    try {
      const payments = await Promise.all(Array.from({ length: 4 }, () => saga.seedPayment({ source: 'tok_success', amount: 900 })));
      const executions = await Promise.all(payments.map((payment) => saga.runPaymentSaga(payment.id)));

      for (const [index, execution] of executions.entries()) {
        const paymentId = payments[index]!.id;
        expect(execution.status).toBe('SUCCEEDED');
        expect(statesEntered(execution).slice(-3)).toEqual(['AuthorizationUnavailable', 'VoidAuthorization', 'MarkFailed']);
        expect(await saga.payment(paymentId)).toMatchObject({ status: 'failed', failureCode: 'processor_unavailable', amountCaptured: 0 });
        const records = await saga.processorRecords(paymentId);
        expect(records.filter((record) => record.operation !== 'void')).toEqual([]);
        await saga.assertInvariants(paymentId);
      }
      // Held on the breaker, not failed by the transient retries: most attempts were refused by it.
      expect(executions.every((execution) => circuitOpenRetries(execution) >= 5)).toBe(true);
      expect(typeof (await breakerState())?.openedUntil).toBe('number');
    } finally {
      restore();
    }
  });

});

describe('circuit breaker: only authorizations are held', () => {
  it('while it is open, a refund of a captured payment goes to the processor and succeeds; a new payment is not authorized', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 3000 });
    await documentClient().send(new PutCommand({ TableName: saga.tables.CIRCUIT_BREAKER_TABLE_NAME, Item: { key: 'processor', generation: 5 } }));
    expect((await saga.runPaymentSaga(payment.id)).status).toBe('SUCCEEDED');
    // Open for a minute, as if the processor had just failed hard.
    await documentClient().send(new PutCommand({ TableName: saga.tables.CIRCUIT_BREAKER_TABLE_NAME, Item: { key: 'processor', generation: 5, openedUntil: Date.now() + 60_000 } }));

    const refund = await saga.seedRefund(await saga.payment(payment.id), 1000);
    const refunded = await saga.runRefundSaga(payment.id, refund.id);
    expect(refunded.status).toBe('SUCCEEDED');
    expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'succeeded' });
    await saga.assertInvariants(payment.id);

    const held = await saga.seedPayment({ source: 'tok_success' });
    const execution = await saga.runPaymentSaga(held.id);
    expect(statesEntered(execution).slice(-3)).toEqual(['AuthorizationUnavailable', 'VoidAuthorization', 'MarkFailed']);
    expect((await saga.processorRecords(held.id)).map((record) => record.operation)).toEqual(['void']);
    await saga.assertInvariants(held.id);
  });
});
