import { randomUUID } from 'node:crypto';
import { ScanCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { CaptureFailed, PaymentDeclined, ProcessorIdempotencyMismatch, ProcessorTimeout, ProcessorUnavailable, RefundFailed } from '../../lambdas/ports/processor.ts';
import { SimulatedProcessor, type ProcessorRecord } from '../../lambdas/adapters/simulated-processor.ts';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { createTestTables, documentClient } from '../support/aws.ts';

// The simulated processor on DynamoDB Local, one describe per test token (CONTRACT "Processor port", DESIGN §5).
let processor: SimulatedProcessor;
let tableName: string;
const db = documentClient();
beforeAll(async () => {
  tableName = (await createTestTables()).PROCESSOR_TABLE_NAME!;
  processor = new SimulatedProcessor({ tableName, client: db });
});

const newPaymentId = () => `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
const authorize = (paymentId: string, source: string, amount = 1000) => processor.authorize({ key: `${paymentId}:authorize`, amount, currency: 'USD', source });
const capture = (paymentId: string, amount = 1000) => processor.capture({ key: `${paymentId}:capture`, authorizationId: `auth_${paymentId}`, amount });

async function records(reference: string): Promise<ProcessorRecord[]> {
  const { Items } = await db.send(
    new ScanCommand({ TableName: tableName, FilterExpression: '#r = :r', ExpressionAttributeNames: { '#r': 'reference' }, ExpressionAttributeValues: { ':r': reference }, ConsistentRead: true }),
  );
  return (Items ?? []) as ProcessorRecord[];
}

describe('tok_success', () => {
  it('authorizes, captures and refunds; each key is recorded once with a 7-day TTL', async () => {
    const paymentId = newPaymentId();
    expect(await authorize(paymentId, 'tok_success')).toEqual({ authorizationId: `auth_${paymentId}` });
    expect(await capture(paymentId)).toEqual({ captureId: `cap_${paymentId}` });
    expect(await processor.refund({ key: `re_x${paymentId}:refund`, paymentId, amount: 400 })).toEqual({ refundId: `rfnd_re_x${paymentId}` });
    const stored = await records(paymentId);
    expect(stored.map((record) => [record.operation, record.outcome]).sort()).toEqual([['authorize', 'succeeded'], ['capture', 'succeeded']]);
    const ttl = stored[0]!.expiresAt - Date.now() / 1000;
    expect(ttl).toBeGreaterThan(7 * 86400 - 60);
    expect(ttl).toBeLessThanOrEqual(7 * 86400);
  });

  it('same key, same outcome: a repeated authorize returns the recorded authorization and writes nothing new', async () => {
    const paymentId = newPaymentId();
    const first = await authorize(paymentId, 'tok_success');
    const again = await authorize(paymentId, 'tok_success');
    expect(again).toEqual(first);
    expect(await records(paymentId)).toHaveLength(1);
  });

  it('the same key with different parameters is refused', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success', 1000);
    await expect(authorize(paymentId, 'tok_success', 2000)).rejects.toBeInstanceOf(ProcessorIdempotencyMismatch);
  });

  it('refunds never exceed the capture, even across keys', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success');
    await capture(paymentId);
    await processor.refund({ key: `re_a${paymentId}:refund`, paymentId, amount: 600 });
    await expect(processor.refund({ key: `re_b${paymentId}:refund`, paymentId, amount: 401 })).rejects.toMatchObject({ name: 'RefundFailed', message: 'amount_exceeds_captured' });
    expect(await processor.refund({ key: `re_c${paymentId}:refund`, paymentId, amount: 400 })).toEqual({ refundId: `rfnd_re_c${paymentId}` });
  });

  it('a void after a capture reverses it (cancel-or-refund), and the reversed capture cannot be refunded', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success');
    await capture(paymentId);
    expect(await processor.void({ key: `${paymentId}:void`, authorizationId: `auth_${paymentId}` })).toEqual({ voided: true });
    expect((await records(paymentId)).find((record) => record.operation === 'void')).toMatchObject({ reversedCaptureId: `cap_${paymentId}` });
    await expect(processor.refund({ key: `re_d${paymentId}:refund`, paymentId, amount: 1 })).rejects.toMatchObject({ message: 'charge_not_captured' });
  });

  it('a void without an authorization id voids what the payment authorized, and blocks a later capture', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success');
    await processor.void({ key: `${paymentId}:void` });
    expect((await records(paymentId)).find((record) => record.operation === 'void')).toMatchObject({ authorizationId: `auth_${paymentId}` });
    await expect(capture(paymentId)).rejects.toMatchObject({ name: 'CaptureFailed', message: 'authorization_voided' });
  });
});

describe('tok_decline / tok_insufficient_funds', () => {
  it.each([
    ['tok_decline', 'card_declined'],
    ['tok_insufficient_funds', 'insufficient_funds'],
    ['tok_unknown', 'card_declined'],
  ])('%s declines at authorize with %s, again on a retry', async (source, code) => {
    const paymentId = newPaymentId();
    const error = await authorize(paymentId, source).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaymentDeclined);
    expect(error).toMatchObject({ name: 'PaymentDeclined', message: code });
    await expect(authorize(paymentId, source)).rejects.toMatchObject({ name: 'PaymentDeclined', message: code });
    expect(await records(paymentId)).toHaveLength(1);
  });
});

describe('tok_capture_fail', () => {
  it('authorizes, then fails the capture (also on a retry)', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_capture_fail');
    await expect(capture(paymentId)).rejects.toBeInstanceOf(CaptureFailed);
    await expect(capture(paymentId)).rejects.toMatchObject({ name: 'CaptureFailed', message: 'capture_failed' });
  });
});

describe('tok_refund_fail', () => {
  it('authorizes and captures, then refuses refunds', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_refund_fail');
    await capture(paymentId);
    const error = await processor.refund({ key: `re_e${paymentId}:refund`, paymentId, amount: 100 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(RefundFailed);
    expect(error).toMatchObject({ message: 'refund_declined' });
  });
});

describe('tok_flaky', () => {
  it('fails the first two calls of each key with ProcessorUnavailable, then succeeds once', async () => {
    const paymentId = newPaymentId();
    await expect(authorize(paymentId, 'tok_flaky')).rejects.toBeInstanceOf(ProcessorUnavailable);
    await expect(authorize(paymentId, 'tok_flaky')).rejects.toBeInstanceOf(ProcessorUnavailable);
    expect(await records(paymentId)).toEqual([]);
    expect(await authorize(paymentId, 'tok_flaky')).toEqual({ authorizationId: `auth_${paymentId}` });
    await expect(capture(paymentId)).rejects.toBeInstanceOf(ProcessorUnavailable);
    await expect(capture(paymentId)).rejects.toBeInstanceOf(ProcessorUnavailable);
    expect(await capture(paymentId)).toEqual({ captureId: `cap_${paymentId}` });
    expect((await records(paymentId)).map((record) => record.operation).sort()).toEqual(['authorize', 'capture']);
  });
});

describe('tok_timeout', () => {
  it('does the work, records it, throws ProcessorTimeout once; a retry returns the recorded result', async () => {
    const paymentId = newPaymentId();
    await expect(authorize(paymentId, 'tok_timeout')).rejects.toBeInstanceOf(ProcessorTimeout);
    expect(await records(paymentId)).toHaveLength(1);
    expect(await authorize(paymentId, 'tok_timeout')).toEqual({ authorizationId: `auth_${paymentId}` });
    await expect(capture(paymentId)).rejects.toBeInstanceOf(ProcessorTimeout);
    expect(await capture(paymentId)).toEqual({ captureId: `cap_${paymentId}` });
    const refundKey = `re_f${paymentId}:refund`;
    await expect(processor.refund({ key: refundKey, paymentId, amount: 1000 })).rejects.toBeInstanceOf(ProcessorTimeout);
    expect(await processor.refund({ key: refundKey, paymentId, amount: 1000 })).toEqual({ refundId: `rfnd_re_f${paymentId}` });
    expect((await records(paymentId)).filter((record) => record.operation === 'capture')).toHaveLength(1);
  });
});

describe('concurrent refunds of one capture', () => {
  // A second client on the same table whose first refund transactions are cancelled by DynamoDB as a
  // concurrent refund of the same capture would make them (TransactionConflict): nothing was written.
  const conflictingClient = (conflicts: number) => {
    const client = documentClient();
    let left = conflicts;
    client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'TransactWriteItemsCommand' && left-- > 0) {
          throw new TransactionCanceledException({ message: 'Transaction cancelled [None, TransactionConflict]', $metadata: {}, CancellationReasons: [{ Code: 'None' }, { Code: 'TransactionConflict' }] });
        }
        return next(args);
      },
      { step: 'initialize', name: 'transactionConflicts' },
    );
    return client;
  };

  it('a transaction conflict is retried, not recorded as amount_exceeds_captured', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success');
    await capture(paymentId);
    const contended = new SimulatedProcessor({ tableName, client: conflictingClient(2) });

    expect(await contended.refund({ key: `re_c${paymentId}:refund`, paymentId, amount: 300 })).toEqual({ refundId: `rfnd_re_c${paymentId}` });
    const [refund] = (await records(`re_c${paymentId}`));
    expect(refund).toMatchObject({ operation: 'refund', outcome: 'succeeded', amount: 300 });
    expect((await records(paymentId)).find((record) => record.operation === 'capture')?.refundedAmount).toBe(300);
  });

  it('conflicts that never stop are ProcessorUnavailable (transient: nothing moved), never a recorded refusal', async () => {
    const paymentId = newPaymentId();
    await authorize(paymentId, 'tok_success');
    await capture(paymentId);
    const contended = new SimulatedProcessor({ tableName, client: conflictingClient(1_000) });

    await expect(contended.refund({ key: `re_d${paymentId}:refund`, paymentId, amount: 300 })).rejects.toBeInstanceOf(ProcessorUnavailable);
    expect(await records(`re_d${paymentId}`)).toEqual([]);
    expect(await processor.refund({ key: `re_d${paymentId}:refund`, paymentId, amount: 300 })).toEqual({ refundId: `rfnd_re_d${paymentId}` });
  });
});
