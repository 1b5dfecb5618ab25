import { beforeAll, describe, expect, it } from 'vitest';
import { startDynamoDbFaultProxy } from '../../support/dynamodb-fault-proxy.ts';
import { createSagaHarness, statesEntered, type SagaHarness } from './saga-harness.ts';

// The synthesized PaymentSaga definition on aws-local-stepfunctions; every task is the real bundled
// handler on DynamoDB Local; saga failures go to a real fauxqs queue (see saga-harness.ts).
let saga: SagaHarness;
beforeAll(async () => {
  saga = await createSagaHarness();
});

const retries = (execution: { events: readonly { type: string; stateName?: string }[] }, stateName: string) =>
  execution.events.filter((event) => event.type === 'StateRetried' && event.stateName === stateName).length;

describe('PaymentSaga: tok_success', () => {
  it('authorizes, captures, posts one balanced posting and ends succeeded', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 4200 });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual(['Authorize', 'Capture', 'PostLedger']);
    const stored = await saga.payment(payment.id);
    expect(stored).toMatchObject({ status: 'succeeded', amountCaptured: 4200, amountRefundable: 4200, amountRefunded: 0, authorizationId: `auth_${payment.id}` });
    const postings = await saga.postings(payment.id);
    expect(postings).toHaveLength(1);
    expect(postings[0]!.lines).toEqual([
      { account: 'processor_clearing', amount: 4200 },
      { account: 'merchant:merchant-a', amount: -4200 },
    ]);
    await saga.assertInvariants(payment.id);
  });

  it('bills 3 state transitions (Standard bills every state entered) and writes the payment once, pending → succeeded', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.events.filter((event) => event.type === 'StateEntered')).toHaveLength(3);
    expect(execution.events.filter((event) => event.type === 'StateRetried')).toEqual([]);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
  });
});

describe('PaymentSaga: tok_decline', () => {
  it('marks the payment failed with card_declined and never captures', async () => {
    const payment = await saga.seedPayment({ source: 'tok_decline' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual(['Authorize', 'MarkFailed']);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'failed', failureCode: 'card_declined', amountCaptured: 0 });
    const records = await saga.processorRecords(payment.id);
    expect(records.map((record) => [record.operation, record.outcome])).toEqual([['authorize', 'failed']]);
    await saga.assertInvariants(payment.id);
  });
});

describe('PaymentSaga: tok_insufficient_funds', () => {
  it('marks the payment failed with insufficient_funds', async () => {
    const payment = await saga.seedPayment({ source: 'tok_insufficient_funds' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
    expect((await saga.processorRecords(payment.id)).some((record) => record.operation === 'capture')).toBe(false);
    await saga.assertInvariants(payment.id);
  });
});

describe('PaymentSaga: tok_capture_fail', () => {
  it('voids the authorization, then marks the payment failed with capture_failed', async () => {
    const payment = await saga.seedPayment({ source: 'tok_capture_fail' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(statesEntered(execution)).toEqual([
      'Authorize', 'Capture', 'CaptureRefused', 'VoidAuthorization', 'MarkFailed',
    ]);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'failed', failureCode: 'capture_failed' });
    const records = await saga.processorRecords(payment.id);
    expect(records.find((record) => record.operation === 'void')).toMatchObject({ outcome: 'succeeded', authorizationId: `auth_${payment.id}` });
    expect(records.find((record) => record.operation === 'capture')).toMatchObject({ outcome: 'failed', failureCode: 'capture_failed' });
    await saga.assertInvariants(payment.id);
  });
});

describe('PaymentSaga: ledger failure', () => {
  it('refunds the capture, then marks the payment failed with ledger_failed and posts nothing', async () => {
    // Fault injection: PostLedger's function runs with a Payments table that does not exist, so its
    // TransactWriteItems really fails (ResourceNotFoundException) after a real capture.
    const restore = await saga.injectFault('PostLedger', { PAYMENTS_TABLE_NAME: 'missing-payments-table' });
    try {
      const payment = await saga.seedPayment({ source: 'tok_success', amount: 1999 });
      const execution = await saga.runPaymentSaga(payment.id);

      expect(execution.status).toBe('SUCCEEDED');
      expect(statesEntered(execution)).toEqual([
        'Authorize', 'Capture', 'PostLedger', 'LedgerRefused', 'RefundCapture', 'MarkFailed',
      ]);
      expect(await saga.payment(payment.id)).toMatchObject({ status: 'failed', failureCode: 'ledger_failed', amountCaptured: 0 });
      expect(await saga.postings(payment.id)).toEqual([]);
      const refund = (await saga.processorRecords(payment.id)).find((record) => record.operation === 'refund');
      expect(refund).toMatchObject({ outcome: 'succeeded', amount: 1999, key: `${payment.id}:refund` });
      await saga.assertInvariants(payment.id);
    } finally {
      restore();
    }
  });
});

describe('PaymentSaga: PostLedger commits but its response is lost', () => {
  // Fault injection outside the code: PostLedger's DynamoDB endpoint is a proxy that applies the
  // transaction, then drops the response of the first calls (the SDK's own retries included). The
  // SDK reads AWS_ENDPOINT_URL_DYNAMODB at a client's first call, so the environment points at the
  // proxy while a fresh copy of PostLedger runs; a warm-up saga first makes the other tasks' clients
  // settle on the real endpoint.
  const withLostLedgerResponses = async (times: number, body: (paymentId: string) => Promise<void>) => {
    await saga.runPaymentSaga((await saga.seedPayment()).id);
    const proxy = await startDynamoDbFaultProxy(process.env.AWS_ENDPOINT_URL_DYNAMODB!, { operation: 'TransactWriteItems', times });
    const realEndpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB;
    const restore = await saga.injectFault('PostLedger', {});
    process.env.AWS_ENDPOINT_URL_DYNAMODB = proxy.endpoint;
    try {
      const payment = await saga.seedPayment({ source: 'tok_success', amount: 4200 });
      await body(payment.id);
      expect(proxy.lost.get('TransactWriteItems')).toBeGreaterThan(0);
    } finally {
      process.env.AWS_ENDPOINT_URL_DYNAMODB = realEndpoint;
      restore();
      await proxy.close();
    }
  };

  it('retries the idempotent transaction and ends succeeded, with no refund', async () => {
    await withLostLedgerResponses(8, async (paymentId) => {
      const execution = await saga.runPaymentSaga(paymentId);

      expect(execution.status).toBe('SUCCEEDED');
      expect(statesEntered(execution)).not.toContain('RefundCapture');
      expect(retries(execution, 'PostLedger')).toBeGreaterThan(0);
      expect(await saga.payment(paymentId)).toMatchObject({ status: 'succeeded', amountCaptured: 4200 });
      expect(await saga.postings(paymentId)).toHaveLength(1);
      expect((await saga.processorRecords(paymentId)).map((record) => record.operation).sort()).toEqual(['authorize', 'capture']);
      await saga.assertInvariants(paymentId);
    });
  });

  it('still unknown after every retry: the case goes to an operator, and the capture is not refunded', async () => {
    await withLostLedgerResponses(1_000, async (paymentId) => {
      const execution = await saga.runPaymentSaga(paymentId);

      expect(execution.status).toBe('FAILED');
      expect(statesEntered(execution).slice(-3)).toEqual(['PostLedger', 'SendToSagaFailures', 'CompensationFailed']);
      expect(await saga.payment(paymentId)).toMatchObject({ status: 'succeeded', amountCaptured: 4200 });
      expect((await saga.processorRecords(paymentId)).map((record) => record.operation).sort()).toEqual(['authorize', 'capture']);
      const [message] = await saga.drainSagaFailures();
      expect(message).toMatchObject({ saga: 'payment', state: { paymentId } });
    });
  });
});

describe('PaymentSaga: tok_flaky', () => {
  it('retries the transient errors and succeeds with exactly one authorization and one capture', async () => {
    const payment = await saga.seedPayment({ source: 'tok_flaky' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(retries(execution, 'Authorize')).toBe(2);
    expect(retries(execution, 'Capture')).toBe(2);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
    const records = await saga.processorRecords(payment.id);
    expect(records.filter((record) => record.operation === 'authorize')).toHaveLength(1);
    expect(records.filter((record) => record.operation === 'capture')).toHaveLength(1);
    await saga.assertInvariants(payment.id);
  });
});

describe('PaymentSaga: tok_timeout', () => {
  it('retries after the ambiguous timeouts and succeeds with exactly one authorization and one capture', async () => {
    const payment = await saga.seedPayment({ source: 'tok_timeout' });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(execution.status).toBe('SUCCEEDED');
    expect(retries(execution, 'Authorize')).toBe(1);
    expect(retries(execution, 'Capture')).toBe(1);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded' });
    const records = await saga.processorRecords(payment.id);
    expect(records.filter((record) => record.operation === 'authorize')).toHaveLength(1);
    expect(records.filter((record) => record.operation === 'capture')).toHaveLength(1);
    await saga.assertInvariants(payment.id);
  });
});

describe('PaymentSaga: processor unavailable for good', () => {
  it('voids whatever the authorize call may have created and marks the payment failed with processor_unavailable', async () => {
    // Fault injection: Authorize's function runs with a processor table that does not exist, so every
    // attempt really fails before the processor records anything.
    const restore = await saga.injectFault('Authorize', { PROCESSOR_TABLE_NAME: 'missing-processor-table' });
    try {
      const payment = await saga.seedPayment({ source: 'tok_success' });
      const execution = await saga.runPaymentSaga(payment.id);

      expect(execution.status).toBe('SUCCEEDED');
      expect(statesEntered(execution)).toEqual([
        'Authorize', 'AuthorizationUnavailable', 'VoidAuthorization', 'MarkFailed',
      ]);
      expect(await saga.payment(payment.id)).toMatchObject({ status: 'failed', failureCode: 'processor_unavailable' });
      await saga.assertInvariants(payment.id);
    } finally {
      restore();
    }
  });
});

describe('PaymentSaga: a compensation that fails for good', () => {
  it('lands the case with everything needed in the saga-failures queue and ends in CompensationFailed', async () => {
    // Fault injection: VoidAuthorization's function runs with a processor table that does not exist,
    // so the compensation fails on every retry.
    const restore = await saga.injectFault('VoidAuthorization', { PROCESSOR_TABLE_NAME: 'missing-processor-table' });
    try {
      const payment = await saga.seedPayment({ source: 'tok_capture_fail', amount: 777 });
      const execution = await saga.runPaymentSaga(payment.id);

      expect(execution.status).toBe('FAILED');
      expect({ error: execution.error, cause: execution.cause }).toEqual({ error: 'CompensationFailed', cause: expect.stringContaining('saga-failures queue') });
      expect(retries(execution, 'VoidAuthorization')).toBe(8);
      expect(statesEntered(execution).slice(-2)).toEqual(['SendToSagaFailures', 'CompensationFailed']);

      const [message, ...others] = await saga.drainSagaFailures();
      expect(others).toEqual([]);
      expect(message).toMatchObject({
        saga: 'payment',
        executionArn: execution.executionArn,
        executionName: `payment-${payment.id}`,
        stateMachineArn: saga.paymentSaga.arn,
        state: {
          paymentId: payment.id,
          merchantId: 'merchant-a',
          amount: 777,
          currency: 'USD',
          authorizationId: `auth_${payment.id}`,
          failureCode: 'capture_failed',
          error: { Error: 'CaptureFailed' },
          // The processor's records cannot be reached: to the saga, a processor that does not answer.
          compensationError: { Error: 'ProcessorTimeout' },
        },
      });
      // Not settled: the payment stays pending (in its merchant's payments, where reconciliation finds it) for an operator or reconciliation.
      expect(await saga.payment(payment.id)).toMatchObject({ status: 'pending' });
    } finally {
      restore();
    }
  });
});

describe('PaymentSaga: the payment cannot be read', () => {
  it('reads again on the settle schedule, then hands the case to an operator: nothing sent, the payment not failed', async () => {
    // Fault injection: Authorize's function runs with a Payments table that does not exist, so its read really fails.
    const restore = await saga.injectFault('Authorize', { PAYMENTS_TABLE_NAME: 'missing-payments-table' });
    try {
      const payment = await saga.seedPayment({ source: 'tok_success' });
      const execution = await saga.runPaymentSaga(payment.id);

      expect(execution.status).toBe('FAILED');
      expect(retries(execution, 'Authorize')).toBe(6);
      expect(statesEntered(execution)).toEqual(['Authorize', 'SendToSagaFailures', 'CompensationFailed']);
      const [message] = await saga.drainSagaFailures();
      expect(message).toMatchObject({ saga: 'payment', state: { paymentId: payment.id, error: { Error: 'PaymentUnreadable' } } });
      expect(await saga.processorRecords(payment.id)).toEqual([]);
      expect(await saga.payment(payment.id)).toMatchObject({ status: 'pending' });
    } finally {
      restore();
    }
  });
});

describe('PaymentSaga: a payment that does not exist', () => {
  it('moves nothing, lands the case in the saga-failures queue and ends in CompensationFailed', async () => {
    const paymentId = 'pay_000000000000000000000000';
    const execution = await saga.runPaymentSaga(paymentId);

    expect(execution.status).toBe('FAILED');
    expect(execution.error).toBe('CompensationFailed');
    expect(statesEntered(execution)).toEqual(['Authorize', 'SendToSagaFailures', 'CompensationFailed']);
    const [message, ...others] = await saga.drainSagaFailures();
    expect(others).toEqual([]);
    expect(message).toMatchObject({ saga: 'payment', executionName: `payment-${paymentId}`, state: { paymentId, error: { Error: 'PaymentNotFound' } } });
    expect(await saga.processorRecords(paymentId)).toEqual([]);
  });
});

describe('PaymentSaga: duplicate delivery', () => {
  it('a second run after success changes nothing', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success' });
    await saga.runPaymentSaga(payment.id);
    const [before, recordsBefore] = await Promise.all([saga.payment(payment.id), saga.processorRecords(payment.id)]);

    const second = await saga.runPaymentSaga(payment.id, `payment-${payment.id}-again`);

    expect(second.status).toBe('SUCCEEDED');
    expect(statesEntered(second)).toEqual(['Authorize', 'Capture', 'PostLedger']);
    expect(JSON.parse(second.output!)).toMatchObject({ paymentId: payment.id, status: 'succeeded' });
    expect(await saga.payment(payment.id)).toEqual(before);
    expect(await saga.processorRecords(payment.id)).toEqual(recordsBefore);
    expect(await saga.postings(payment.id)).toHaveLength(1);
    await saga.assertInvariants(payment.id);
  });

  it('a second run after a decline changes nothing', async () => {
    const payment = await saga.seedPayment({ source: 'tok_decline' });
    await saga.runPaymentSaga(payment.id);
    const before = await saga.payment(payment.id);

    const second = await saga.runPaymentSaga(payment.id, `payment-${payment.id}-again`);

    expect(statesEntered(second)).toEqual(['Authorize', 'Capture', 'PostLedger']);
    expect(await saga.payment(payment.id)).toEqual(before);
    await saga.assertInvariants(payment.id);
  });

  // A real processor keeps idempotency keys for a limited time (Stripe: 24 hours): a late start that called it
  // again would authorize and capture anew. The simulated processor records every call under its key; its
  // records are deleted here, as if they had expired, so any call would leave a new one.
  it.each([
    ['succeeded', 'tok_success'],
    ['failed', 'tok_decline'],
  ])('a late start of a %s payment, after the processor forgot its keys, calls the processor for nothing', async (status, source) => {
    const payment = await saga.seedPayment({ source });
    await saga.runPaymentSaga(payment.id);
    const before = await saga.payment(payment.id);
    expect(before.status).toBe(status);
    await saga.forgetProcessorRecords(payment.id);

    const late = await saga.runPaymentSaga(payment.id, `payment-${payment.id}-reconciled`);

    expect(late.status).toBe('SUCCEEDED');
    expect(await saga.processorRecords(payment.id)).toEqual([]);
    expect(await saga.payment(payment.id)).toEqual(before);
  });

  // A late start whose Authorize never ran its code (a Lambda service error past the retries) reaches the void
  // without the payment's status: a void of a captured payment would give the money back under a succeeded ledger.
  it('a late start of a succeeded payment whose Authorize fails before running voids nothing and leaves it succeeded', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 2900 });
    await saga.runPaymentSaga(payment.id);
    const before = await saga.payment(payment.id);
    const records = await saga.processorRecords(payment.id);
    const restore = saga.failInvocations('Authorize', 'Lambda.ServiceException');
    try {
      const late = await saga.runPaymentSaga(payment.id, `payment-${payment.id}-redriven`);
      expect(statesEntered(late)).toEqual(['Authorize', 'AuthorizationUnavailable', 'VoidAuthorization', 'MarkFailed']);
      expect(late.status).toBe('SUCCEEDED');
    } finally {
      restore();
    }
    expect(await saga.processorRecords(payment.id)).toEqual(records);
    expect(await saga.payment(payment.id)).toEqual(before);
    await saga.assertInvariants(payment.id);
  });

  it('a late start of a payment left processing by an earlier version still settles it', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 3300, status: 'processing', amountCaptured: 0 });
    const execution = await saga.runPaymentSaga(payment.id);

    expect(statesEntered(execution)).toEqual(['Authorize', 'Capture', 'PostLedger']);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded', amountCaptured: 3300, amountRefundable: 3300 });
    await saga.assertInvariants(payment.id);
  });

  it('two executions at once (Express has no exactly-once start) still charge once and post once', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 5100 });
    const executions = await Promise.all([
      saga.runPaymentSaga(payment.id, `payment-${payment.id}-a`),
      saga.runPaymentSaga(payment.id, `payment-${payment.id}-b`),
    ]);

    expect(executions.map((execution) => execution.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded', amountCaptured: 5100 });
    expect(await saga.postings(payment.id)).toHaveLength(1);
    await saga.assertInvariants(payment.id);
  });

  it('starting the Standard execution again under its name is refused while the first one ran once', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success' });
    await saga.runPaymentSaga(payment.id);
    expect(() =>
      saga.stepFunctions.startExecution({ stateMachineArn: saga.paymentSaga.arn, name: `payment-${payment.id}`, input: JSON.stringify({ paymentId: payment.id }) }),
    ).toThrow(expect.objectContaining({ name: 'ExecutionAlreadyExists' }));
    await saga.assertInvariants(payment.id);
  });
});
