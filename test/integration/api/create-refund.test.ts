import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { paymentIdFor, refundIdFor } from '../../../lambdas/domain/ids.ts';
import { TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import {
  expireAllIdempotencyRecords,
  interceptDynamoDb,
  partitionItems,
  paymentItem,
  postPayment,
  postRefund,
  seedSucceededPayment,
  setUpApi,
  type ApiUnderTest,
  type Response,
} from './helpers.ts';

let api: ApiUnderTest;
beforeAll(async () => {
  api = await setUpApi();
});

const newKey = () => `key-${randomUUID()}`;
/** A captured payment of `amount` EUR cents, as the saga leaves it. */
async function capturedPayment(amount = 10_000, merchant = 'merchant-a') {
  const id = paymentIdFor(merchant, randomUUID());
  await seedSucceededPayment(api, { id, merchant, amount });
  return id;
}

async function refundItems(paymentId: string) {
  return (await partitionItems(api, paymentId)).filter((item) => item.entity === 'refund');
}

function expectError(response: Response, status: number, type: string, code: string, param?: string) {
  expect(response.statusCode, response.rawBody).toBe(status);
  expect(response.headers['Content-Type']).toBe('application/json');
  expect(response.json).toEqual({ error: { type, code, message: expect.any(String), ...(param === undefined ? {} : { param }) } });
}

describe('POST /v1/payments/{id}/refunds: partial refund', () => {
  it('stores metadata keyed like Object.prototype members (the refund transaction marshals them as a map)', async () => {
    const paymentId = await capturedPayment(10_000);
    const response = await postRefund(api, paymentId, { key: newKey(), body: { amount: 100, metadata: { constructor: 'c', toString: 't' } } });
    expect(response.statusCode, response.rawBody).toBe(201);
    expect((await refundItems(paymentId))[0]?.metadata).toEqual({ constructor: 'c', toString: 't' });
  });

  it('is 201 with a pending refund; reserves the amount on the payment; the refund item is exactly per CONTRACT', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    const response = await postRefund(api, paymentId, { key, body: { amount: 3000, reason: 'requested_by_customer', metadata: { ticket: 'T-1' } } });
    const refundId = refundIdFor('merchant-a', paymentId, key);

    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json' });
    expect(response.json).toEqual({
      id: refundId,
      object: 'refund',
      paymentId,
      amount: 3000,
      currency: 'EUR',
      status: 'pending',
      reason: 'requested_by_customer',
      metadata: { ticket: 'T-1' },
      requestId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      createdAt: expect.any(String),
      updatedAt: response.json.createdAt,
    });
    const [refund] = await refundItems(paymentId);
    expect(refund).toEqual({
      PK: `PAYMENT#${paymentId}`,
      SK: `REFUND#${refundId}`,
      entity: 'refund',
      id: refundId,
      paymentId,
      merchantId: 'merchant-a',
      amount: 3000,
      currency: 'EUR',
      status: 'pending',
      reason: 'requested_by_customer',
      metadata: { ticket: 'T-1' },
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      requestId: response.json.requestId,
      openEntity: 'refund',
      createdAt: response.json.createdAt,
      updatedAt: response.json.createdAt,
    });
    expect(await paymentItem(api, paymentId)).toMatchObject({
      status: 'succeeded', amountCaptured: 10_000, amountRefunded: 0, amountRefundable: 7000,
    });
  });

  it('several partial refunds add up to the captured amount and no further', async () => {
    const paymentId = await capturedPayment(1000);
    for (const amount of [100, 200, 700]) {
      expect((await postRefund(api, paymentId, { key: newKey(), body: { amount } })).statusCode).toBe(201);
    }
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(0);
    expectError(await postRefund(api, paymentId, { key: newKey(), body: { amount: 1 } }), 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');
  });
});

describe('POST /v1/payments/{id}/refunds: full refund', () => {
  it('without amount refunds everything still refundable', async () => {
    const paymentId = await capturedPayment(10_000);
    await postRefund(api, paymentId, { key: newKey(), body: { amount: 2500 } });
    const full = await postRefund(api, paymentId, { key: newKey(), body: {} });
    expect(full.statusCode).toBe(201);
    expect(full.json.amount).toBe(7500);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(0);
    expectError(await postRefund(api, paymentId, { key: newKey(), body: {} }), 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');
  });

  it('an empty request body is a full refund too', async () => {
    const paymentId = await capturedPayment(4200);
    const full = await postRefund(api, paymentId, { key: newKey(), body: null });
    expect(full.statusCode).toBe(201);
    expect(full.json.amount).toBe(4200);
  });
});

describe('POST /v1/payments/{id}/refunds: over-refund', () => {
  it('more than refundable is 422 refund_exceeds_refundable and reserves nothing', async () => {
    const paymentId = await capturedPayment(10_000);
    const before = await paymentItem(api, paymentId);
    expectError(await postRefund(api, paymentId, { key: newKey(), body: { amount: 10_001 } }), 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');
    expect(await paymentItem(api, paymentId)).toEqual(before);
    expect(await refundItems(paymentId)).toEqual([]);
  });
});

describe('POST /v1/payments/{id}/refunds: payment not refundable', () => {
  it.each(['pending', 'processing', 'failed'])('a %s payment is 409 payment_not_refundable', async (status) => {
    const id = paymentIdFor('merchant-a', randomUUID());
    await seedSucceededPayment(api, { id, status, amount: 500, amountRefundable: status === 'failed' ? 0 : 0 });
    expectError(await postRefund(api, id, { key: newKey(), body: { amount: 100 } }), 409, 'invalid_request_error', 'payment_not_refundable');
    expect(await refundItems(id)).toEqual([]);
  });

  it('a payment just created through the API (pending) is 409', async () => {
    const created = await postPayment(api, { key: newKey() });
    expectError(await postRefund(api, created.json.id, { key: newKey() }), 409, 'invalid_request_error', 'payment_not_refundable');
  });

  it('a refunded payment is 409', async () => {
    const id = paymentIdFor('merchant-a', randomUUID());
    await seedSucceededPayment(api, { id, status: 'refunded', amount: 500, amountRefundable: 0 });
    expectError(await postRefund(api, id, { key: newKey() }), 409, 'invalid_request_error', 'payment_not_refundable');
  });
});

describe('POST /v1/payments/{id}/refunds: whose payment', () => {
  it('another merchant\'s payment, an unknown id and a malformed id are 404 resource_not_found', async () => {
    const paymentId = await capturedPayment(10_000, 'merchant-a');
    expectError(await postRefund(api, paymentId, { merchant: 'merchant-b', key: newKey() }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await postRefund(api, paymentIdFor('merchant-a', randomUUID()), { key: newKey() }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await postRefund(api, 'not-a-payment', { key: newKey() }), 404, 'invalid_request_error', 'resource_not_found');
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(10_000);
  });

  it('without an API key identity is 403 invalid_api_key', async () => {
    const paymentId = await capturedPayment();
    expectError(await postRefund(api, paymentId, { merchant: null, key: newKey() }), 403, 'authentication_error', 'invalid_api_key');
  });
});

describe('POST /v1/payments/{id}/refunds: request validation', () => {
  it.each([
    ['an unknown field', { amount: 100, currency: 'EUR' }, 'parameter_unknown', 'currency'],
    ['a float amount', { amount: 1.5 }, 'parameter_invalid', 'amount'],
    ['a string amount', { amount: '100' }, 'parameter_invalid', 'amount'],
    ['a negative amount', { amount: -100 }, 'parameter_invalid', 'amount'],
    ['an unknown reason', { reason: 'changed_my_mind' }, 'parameter_invalid', 'reason'],
    ['metadata that is not string pairs', { metadata: { a: 1 } }, 'parameter_invalid', 'metadata.a'],
  ])('%s is 400', async (_, body, code, param) => {
    const paymentId = await capturedPayment();
    expectError(await postRefund(api, paymentId, { key: newKey(), body }), 400, 'invalid_request_error', code, param);
  });

  it('malformed JSON and a JSON array are 400 invalid_json', async () => {
    const paymentId = await capturedPayment();
    expectError(await postRefund(api, paymentId, { key: newKey(), body: '{"amount":' }), 400, 'invalid_request_error', 'invalid_json');
    expectError(await postRefund(api, paymentId, { key: newKey(), body: '[]' }), 400, 'invalid_request_error', 'invalid_json');
  });

  it('a key twice (amount, or inside metadata) is 400 invalid_json and reserves nothing; a raw byte that is not UTF-8 too', async () => {
    const paymentId = await capturedPayment(10_000);
    expectError(await postRefund(api, paymentId, { key: newKey(), body: '{"amount":100,"amount":10000}' }), 400, 'invalid_request_error', 'invalid_json', 'amount');
    expectError(await postRefund(api, paymentId, { key: newKey(), body: '{"amount":100,"metadata":{"a":"1","a":"2"}}' }), 400, 'invalid_request_error', 'invalid_json', 'metadata.a');
    const notUtf8 = Buffer.concat([Buffer.from('{"amount":100,"metadata":{"note":"'), Buffer.from([0xff]), Buffer.from('"}}')]).toString('base64');
    expectError(await postRefund(api, paymentId, { key: newKey(), body: notUtf8, isBase64Encoded: true }), 400, 'invalid_request_error', 'invalid_json');
    expect(await refundItems(paymentId)).toHaveLength(0);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(10_000);
  });

  it('a charset other than UTF-8 is 415 unsupported_media_type', async () => {
    const paymentId = await capturedPayment(10_000);
    const response = await postRefund(api, paymentId, { key: newKey(), body: { amount: 100 }, headers: { 'Content-Type': 'application/json; charset=iso-8859-1' } });
    expectError(response, 415, 'invalid_request_error', 'unsupported_media_type');
    expect(await refundItems(paymentId)).toHaveLength(0);
  });
});

// DESIGN §2 idempotency table for refunds, one describe per row.
describe('refund idempotency: key missing', () => {
  it('is 400 idempotency_key_missing', async () => {
    const paymentId = await capturedPayment();
    expectError(await postRefund(api, paymentId, { key: null, body: { amount: 100 } }), 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
  });
});

describe('refund idempotency: key malformed', () => {
  it('is 400 idempotency_key_invalid', async () => {
    const paymentId = await capturedPayment();
    expectError(await postRefund(api, paymentId, { key: 'x'.repeat(256), body: { amount: 100 } }), 400, 'invalid_request_error', 'idempotency_key_invalid', 'Idempotency-Key');
  });
});

describe('refund idempotency: same merchant + key + same body, first finished', () => {
  it('replays the first response byte-identically with Idempotent-Replayed: true and reserves once', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    const first = await postRefund(api, paymentId, { key, body: { amount: 1000 } });
    const second = await postRefund(api, paymentId, { key, headers: { 'idempotency-key': key }, body: { amount: 1000 } });
    expect(second.statusCode).toBe(201);
    expect(second.rawBody).toBe(first.rawBody);
    expect(second.headers['Idempotent-Replayed']).toBe('true');
    expect(first.headers['Idempotent-Replayed']).toBeUndefined();
    expect(await refundItems(paymentId)).toHaveLength(1);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(9000);
  });
});

describe('refund idempotency: same merchant + key, different body', () => {
  it('is 422 idempotency_key_reused, also when the same key is used on another payment', async () => {
    const paymentId = await capturedPayment(10_000);
    const otherPaymentId = await capturedPayment(10_000);
    const key = newKey();
    await postRefund(api, paymentId, { key, body: { amount: 1000 } });
    expectError(await postRefund(api, paymentId, { key, body: { amount: 2000 } }), 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expectError(await postRefund(api, otherPaymentId, { key, body: { amount: 1000 } }), 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(9000);
    expect((await paymentItem(api, otherPaymentId))?.amountRefundable).toBe(10_000);
  });
});

describe('refund idempotency: same key from another merchant', () => {
  it('is independent: keys are scoped per merchant', async () => {
    const key = newKey();
    const ofA = await capturedPayment(10_000, 'merchant-a');
    const ofB = await capturedPayment(10_000, 'merchant-b');
    const refundA = await postRefund(api, ofA, { merchant: 'merchant-a', key, body: { amount: 100 } });
    const refundB = await postRefund(api, ofB, { merchant: 'merchant-b', key, body: { amount: 200 } });
    for (const refund of [refundA, refundB]) {
      expect(refund.statusCode, refund.rawBody).toBe(201);
      expect(refund.headers['Idempotent-Replayed']).toBeUndefined();
    }
    expect(refundA.json.id).not.toBe(refundB.json.id);
  });
});

// Issue 8: a key names one request of a merchant, whatever the route (Stripe, draft-ietf-httpapi-idempotency-key-header).
describe('refund idempotency: same merchant + key on another route', () => {
  it('a key that created a payment is 422 idempotency_key_reused on a refund, reserves nothing, and the payment still replays', async () => {
    const key = newKey();
    const created = await postPayment(api, { key });
    expect(created.statusCode).toBe(201);
    const paymentId = await capturedPayment(10_000);
    const reused = await postRefund(api, paymentId, { key, body: { amount: 100 } });
    expectError(reused, 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect(await refundItems(paymentId)).toHaveLength(0);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(10_000);
    // Not even on the payment the key created.
    expectError(await postRefund(api, created.json.id, { key, body: {} }), 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');

    const replay = await postPayment(api, { key });
    expect(replay.statusCode).toBe(201);
    expect(replay.rawBody).toBe(created.rawBody);
    expect(replay.headers['Idempotent-Replayed']).toBe('true');
  });
});

describe('refund idempotency: invalid request', () => {
  it('is 400 and not remembered: the key can be reused with a fixed body', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    expectError(await postRefund(api, paymentId, { key, body: { amount: 0 } }), 400, 'invalid_request_error', 'parameter_invalid', 'amount');
    const fixed = await postRefund(api, paymentId, { key, body: { amount: 100 } });
    expect(fixed.statusCode).toBe(201);
    expect(fixed.headers['Idempotent-Replayed']).toBeUndefined();
  });

  it('a rejected refund (422) is not remembered either: after a smaller refund the key works', async () => {
    const paymentId = await capturedPayment(1000);
    const key = newKey();
    expectError(await postRefund(api, paymentId, { key, body: { amount: 5000 } }), 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount');
    expect((await postRefund(api, paymentId, { key, body: { amount: 500 } })).statusCode).toBe(201);
  });
});

describe('refund idempotency: key older than the retention', () => {
  it('a late retry returns the same refund and reserves nothing twice', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    const first = await postRefund(api, paymentId, { key, body: { amount: 4000 } });
    await expireAllIdempotencyRecords(api);
    const late = await postRefund(api, paymentId, { key, body: { amount: 4000 } });
    expect(late.statusCode).toBe(201);
    expect(late.headers['Idempotent-Replayed']).toBe('true');
    expect(late.rawBody).toBe(first.rawBody);
    expect(await refundItems(paymentId)).toHaveLength(1);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(6000);
  });

  it('a late retry of a full refund still finds its refund although nothing is left to refund', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    const first = await postRefund(api, paymentId, { key, body: {} });
    await expireAllIdempotencyRecords(api);
    const late = await postRefund(api, paymentId, { key, body: {} });
    expect(late.statusCode).toBe(201);
    expect(late.rawBody).toBe(first.rawBody);
    expect(await refundItems(paymentId)).toHaveLength(1);
  });

  it('a late retry with a different body is 422 idempotency_key_reused', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    await postRefund(api, paymentId, { key, body: { amount: 4000 } });
    await expireAllIdempotencyRecords(api);
    expectError(await postRefund(api, paymentId, { key, body: { amount: 3000 } }), 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(6000);
  });
});

describe('concurrency: refunds never exceed the captured amount', () => {
  it('20 concurrent refunds of 700 with different keys against 10 000 captured: at most 14 succeed', async () => {
    const paymentId = await capturedPayment(10_000);
    const responses = await Promise.all(Array.from({ length: 20 }, () => postRefund(api, paymentId, { key: newKey(), body: { amount: 700 } })));
    const accepted = responses.filter((r) => r.statusCode === 201);
    for (const rejected of responses.filter((r) => r.statusCode !== 201)) {
      expect(rejected.statusCode, rejected.rawBody).toBe(422);
      expect(rejected.json.error.code).toBe('refund_exceeds_refundable');
    }
    expect(accepted).toHaveLength(14);
    const refunds = await refundItems(paymentId);
    const reserved = refunds.reduce((sum, refund) => sum + Number(refund.amount), 0);
    expect(refunds).toHaveLength(accepted.length);
    expect(reserved).toBe(9800);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(10_000 - reserved);
  });

  it('20 concurrent full refunds: exactly one succeeds', async () => {
    const paymentId = await capturedPayment(10_000);
    const responses = await Promise.all(Array.from({ length: 20 }, () => postRefund(api, paymentId, { key: newKey(), body: {} })));
    const accepted = responses.filter((r) => r.statusCode === 201);
    expect(accepted).toHaveLength(1);
    expect(accepted[0]!.json.amount).toBe(10_000);
    expect(responses.filter((r) => r.statusCode === 422)).toHaveLength(19);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(0);
  });

  it('20 concurrent refunds that exactly exhaust the payment all succeed', async () => {
    const paymentId = await capturedPayment(10_000);
    const responses = await Promise.all(Array.from({ length: 20 }, () => postRefund(api, paymentId, { key: newKey(), body: { amount: 500 } })));
    expect(responses.map((r) => r.statusCode)).toEqual(Array(20).fill(201));
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(0);
    expect(await refundItems(paymentId)).toHaveLength(20);
  });
});

describe('concurrency: a reservation that keeps losing to other writers', () => {
  it('is 409 resource_busy with Retry-After after bounded retries, writes nothing and is not remembered', async () => {
    const paymentId = await capturedPayment(10_000);
    const key = newKey();
    let conflicts = 0;
    // Every reservation transaction is cancelled by DynamoDB as if another transaction held the payment.
    const interception = interceptDynamoDb(api.handlerDynamoDb, ({ command }) => {
      if (command !== 'TransactWriteItemsCommand') return;
      conflicts++;
      throw new TransactionCanceledException({
        message: 'Transaction cancelled, please refer cancellation reasons for specific reasons [TransactionConflict, None]',
        $metadata: {},
        CancellationReasons: [{ Code: 'TransactionConflict' }, { Code: 'None' }],
      });
    });
    let busy: Response;
    try {
      busy = await postRefund(api, paymentId, { key, body: { amount: 700 } });
    } finally {
      interception.stop();
    }
    expectError(busy, 409, 'api_error', 'resource_busy');
    expect(busy.headers['Retry-After']).toBe('1');
    expect(conflicts).toBeGreaterThan(1);
    expect(await refundItems(paymentId)).toEqual([]);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(10_000);

    const retried = await postRefund(api, paymentId, { key, body: { amount: 700 } });
    expect(retried.statusCode, retried.rawBody).toBe(201);
    expect((await paymentItem(api, paymentId))?.amountRefundable).toBe(9300);
  });
});
