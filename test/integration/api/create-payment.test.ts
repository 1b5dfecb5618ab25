import { randomUUID } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '../../support/aws.ts';
import { paymentIdFor } from '../../../lambdas/domain/ids.ts';
import {
  eventually,
  expireAllIdempotencyRecords,
  getPaymentById,
  interceptDynamoDb,
  latch,
  partitionItems,
  paymentItem,
  postPayment,
  postRefund,
  scanTable,
  seedSucceededPayment,
  setUpApi,
  validPayment,
  type ApiUnderTest,
} from './helpers.ts';

const TTL_SECONDS = 3600;
let api: ApiUnderTest;
let interception: ReturnType<typeof interceptDynamoDb> | undefined;

beforeAll(async () => {
  api = await setUpApi({ IDEMPOTENCY_TTL_SECONDS: String(TTL_SECONDS) });
});

afterEach(() => {
  interception?.stop();
  interception = undefined;
});

const newKey = () => `key-${randomUUID()}`;
const newMerchant = () => `merchant-${randomUUID().slice(0, 8)}`;
const intercept = (hook?: Parameters<typeof interceptDynamoDb>[1]) => (interception = interceptDynamoDb(api.handlerDynamoDb, hook));

async function paymentsOf(merchant: string) {
  return (await scanTable(api.tables.PAYMENTS_TABLE_NAME)).filter((item) => item.merchantId === merchant && item.entity === 'payment');
}

function expectError(response: Awaited<ReturnType<typeof postPayment>>, status: number, type: string, code: string, param?: string) {
  expect(response.statusCode).toBe(status);
  expect(response.headers['Content-Type']).toBe('application/json');
  expect(response.json).toEqual({ error: { type, code, message: expect.any(String), ...(param === undefined ? {} : { param }) } });
}

/** API Gateway's request id (requestContext.requestId): the test events carry a UUID. */
const UUID = expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);

describe('POST /v1/payments', () => {
  it('creates a pending payment: 201, Location, the public payment, and the item exactly per CONTRACT', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const response = await postPayment(api, { merchant, key });
    const id = paymentIdFor(merchant, key);

    expect(response.statusCode).toBe(201);
    expect(response.headers).toEqual({ 'Content-Type': 'application/json', Location: `/v1/payments/${id}` });
    expect(response.json).toEqual({
      id,
      object: 'payment',
      amount: 2500,
      currency: 'USD',
      status: 'pending',
      source: 'tok_success',
      description: 'Order 1001',
      metadata: { orderId: '1001' },
      requestId: UUID,
      amountCaptured: 0,
      amountRefunded: 0,
      amountRefundable: 0,
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
      updatedAt: response.json.createdAt,
    });
    expect(await paymentItem(api, id)).toEqual({
      PK: `PAYMENT#${id}`,
      SK: 'PAYMENT',
      entity: 'payment',
      id,
      merchantId: merchant,
      amount: 2500,
      currency: 'USD',
      status: 'pending',
      source: 'tok_success',
      description: 'Order 1001',
      metadata: { orderId: '1001' },
      amountCaptured: 0,
      amountRefunded: 0,
      amountRefundable: 0,
      // The merchant's list (the keys-only lookup index), newest first by creation time then id.
      lookupPK: `MERCHANT#${merchant}#PAYMENTS`,
      lookupSK: `${response.json.createdAt}#${id}`,
      requestHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      requestId: response.json.requestId,
      createdAt: response.json.createdAt,
      updatedAt: response.json.createdAt,
    });
    const fetched = await getPaymentById(api, id, merchant);
    expect(fetched.statusCode).toBe(200);
    expect(fetched.rawBody).toBe(response.rawBody);
  });

  it('costs at most three DynamoDB writes the first time and one call on a replay (DESIGN §9)', async () => {
    const key = newKey();
    const probe = intercept();
    await postPayment(api, { key });
    expect(probe.calls).toEqual([
      { command: 'PutItemCommand', table: api.tables.IDEMPOTENCY_TABLE_NAME },
      { command: 'PutItemCommand', table: api.tables.PAYMENTS_TABLE_NAME },
      { command: 'UpdateItemCommand', table: api.tables.IDEMPOTENCY_TABLE_NAME },
    ]);
    probe.calls.length = 0;
    const replay = await postPayment(api, { key });
    expect(replay.headers['Idempotent-Replayed']).toBe('true');
    expect(probe.calls).toEqual([{ command: 'PutItemCommand', table: api.tables.IDEMPOTENCY_TABLE_NAME }]);
  });

  it('answers 403 invalid_api_key when API Gateway passed no API key identity', async () => {
    const response = await postPayment(api, { merchant: null, key: newKey() });
    expectError(response, 403, 'authentication_error', 'invalid_api_key');
  });
});

// DESIGN §2 idempotency table, one describe per row.
describe('idempotency: key missing on a POST', () => {
  it('is 400 idempotency_key_missing with param Idempotency-Key, and nothing is written', async () => {
    const probe = intercept();
    const response = await postPayment(api, { key: null });
    expectError(response, 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key');
    expect(probe.calls).toEqual([]);
  });
});

describe('idempotency: key malformed (empty, > 255 chars, non-printable)', () => {
  it.each([
    ['empty', ''],
    ['blank', '   '],
    ['256 characters', 'k'.repeat(256)],
    ['a control character', 'key\u0007bell'],
    ['non-ASCII', 'clé-1'],
  ])('%s is 400 idempotency_key_invalid, and nothing is written', async (_, key) => {
    const probe = intercept();
    const response = await postPayment(api, { key });
    expectError(response, 400, 'invalid_request_error', 'idempotency_key_invalid', 'Idempotency-Key');
    expect(probe.calls).toEqual([]);
  });

  it('255 printable characters are accepted', async () => {
    const response = await postPayment(api, { key: `${randomUUID()}${'k'.repeat(219)}` });
    expect(response.statusCode).toBe(201);
  });
});

describe('idempotency: same merchant + key + same body, first finished', () => {
  it('replays the first status code and body, byte-identical, plus Idempotent-Replayed: true', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const first = await postPayment(api, { merchant, key });
    const second = await postPayment(api, { merchant, key });
    expect(first.statusCode).toBe(201);
    expect(first.headers['Idempotent-Replayed']).toBeUndefined();
    expect(second.statusCode).toBe(201);
    expect(second.rawBody).toBe(first.rawBody);
    expect(second.headers).toEqual({ ...first.headers, 'Idempotent-Replayed': 'true' });
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });

  it('treats the same JSON with another key order or spacing as the same body', async () => {
    const key = newKey();
    const first = await postPayment(api, { key, body: '{"amount":700,"currency":"EUR","source":"tok_success"}' });
    const second = await postPayment(api, { key, body: '{ "source": "tok_success", "currency": "EUR", "amount": 700 }' });
    expect(second.statusCode).toBe(201);
    expect(second.headers['Idempotent-Replayed']).toBe('true');
    expect(second.rawBody).toBe(first.rawBody);
  });

  it('replays the original response even after the payment moved on', async () => {
    const key = newKey();
    const first = await postPayment(api, { key });
    await documentClient().send(new UpdateCommand({
      TableName: api.tables.PAYMENTS_TABLE_NAME,
      Key: { PK: `PAYMENT#${first.json.id}`, SK: 'PAYMENT' },
      UpdateExpression: 'SET #status = :processing',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':processing': 'processing' },
    }));
    const replay = await postPayment(api, { key });
    expect(replay.rawBody).toBe(first.rawBody);
    expect(replay.json.status).toBe('pending');
  });
});

describe('idempotency: same merchant + key, different body', () => {
  it('is 422 idempotency_key_reused and changes nothing; the original still replays', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const first = await postPayment(api, { merchant, key });
    const itemBefore = await paymentItem(api, first.json.id);
    const reused = await postPayment(api, { merchant, key, body: validPayment({ amount: 9999 }) });
    expectError(reused, 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect(await paymentItem(api, first.json.id)).toEqual(itemBefore);
    const replay = await postPayment(api, { merchant, key });
    expect(replay.rawBody).toBe(first.rawBody);
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });
});

// Issue 8: a key names one request of a merchant, whatever the route (Stripe, draft-ietf-httpapi-idempotency-key-header).
describe('idempotency: same merchant + key on another route', () => {
  it('a key that created a refund is 422 idempotency_key_reused on POST /payments, creates nothing, and the refund still replays', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const refunded = paymentIdFor(merchant, randomUUID());
    await seedSucceededPayment(api, { id: refunded, merchant });
    const refund = await postRefund(api, refunded, { merchant, key, body: { amount: 100 } });
    expect(refund.statusCode, refund.rawBody).toBe(201);

    const reused = await postPayment(api, { merchant, key });
    expectError(reused, 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect(await paymentItem(api, paymentIdFor(merchant, key))).toBeUndefined();
    expect(await paymentsOf(merchant)).toHaveLength(1); // only the seeded one

    const replay = await postRefund(api, refunded, { merchant, key, body: { amount: 100 } });
    expect(replay.statusCode).toBe(201);
    expect(replay.rawBody).toBe(refund.rawBody);
    expect(replay.headers['Idempotent-Replayed']).toBe('true');
  });
});

describe('idempotency: same merchant + key while the first is still running', () => {
  it('is 409 idempotency_key_in_use with Retry-After; once the first finishes a retry replays it', async () => {
    const key = newKey();
    const gate = latch();
    const reached = latch();
    let held = false;
    intercept(async (call) => {
      if (!held && call.command === 'PutItemCommand' && call.table === api.tables.PAYMENTS_TABLE_NAME) {
        held = true;
        reached.release();
        await gate.released;
      }
    });
    const firstPending = postPayment(api, { key });
    await reached.released;

    const concurrent = await postPayment(api, { key });
    expectError(concurrent, 409, 'idempotency_error', 'idempotency_key_in_use', 'Idempotency-Key');
    expect(Number(concurrent.headers['Retry-After'])).toBeGreaterThanOrEqual(1);

    gate.release();
    const first = await firstPending;
    expect(first.statusCode).toBe(201);
    const retry = await postPayment(api, { key });
    expect(retry.statusCode).toBe(201);
    expect(retry.rawBody).toBe(first.rawBody);
    expect(retry.headers['Idempotent-Replayed']).toBe('true');
  });
});

describe('idempotency: same key from another merchant', () => {
  it('is independent: keys are scoped per merchant', async () => {
    const key = newKey();
    const merchantA = newMerchant();
    const merchantB = newMerchant();
    const a = await postPayment(api, { merchant: merchantA, key });
    const b = await postPayment(api, { merchant: merchantB, key });
    const bOtherBody = await postPayment(api, { merchant: newMerchant(), key, body: validPayment({ amount: 1 }) });
    for (const response of [a, b, bOtherBody]) {
      expect(response.statusCode).toBe(201);
      expect(response.headers['Idempotent-Replayed']).toBeUndefined();
    }
    expect(new Set([a.json.id, b.json.id, bOtherBody.json.id]).size).toBe(3);
    expect(await paymentsOf(merchantA)).toHaveLength(1);
    expect(await paymentsOf(merchantB)).toHaveLength(1);
    expect((await getPaymentById(api, a.json.id, merchantB)).statusCode).toBe(404);
  });
});

describe('idempotency: invalid request (validation failed)', () => {
  it('is 400 and not remembered: the client may fix the body and reuse the key', async () => {
    const key = newKey();
    const probe = intercept();
    const invalid = await postPayment(api, { key, body: validPayment({ amount: 10.5 }) });
    expectError(invalid, 400, 'invalid_request_error', 'parameter_invalid', 'amount');
    expect(probe.calls).toEqual([]);
    const fixed = await postPayment(api, { key, body: validPayment({ amount: 1050 }) });
    expect(fixed.statusCode).toBe(201);
    expect(fixed.headers['Idempotent-Replayed']).toBeUndefined();
    expect(fixed.json.amount).toBe(1050);
  });
});

describe('idempotency: server error thrown', () => {
  it('before the payment is written: 500 internal_error, nothing remembered, a retry creates the payment once', async () => {
    const merchant = newMerchant();
    const key = newKey();
    let failed = false;
    const probe = intercept((call) => {
      if (!failed && call.command === 'PutItemCommand' && call.table === api.tables.PAYMENTS_TABLE_NAME) {
        failed = true;
        throw Object.assign(new Error('injected: DynamoDB unavailable'), { name: 'InternalServerError' });
      }
    });
    const failure = await postPayment(api, { merchant, key });
    expectError(failure, 500, 'api_error', 'internal_error');
    expect(probe.calls.map((call) => call.command)).toContain('DeleteItemCommand');
    expect(await scanTable(api.tables.IDEMPOTENCY_TABLE_NAME)).not.toContainEqual(expect.objectContaining({ status: 'INPROGRESS' }));

    const retry = await postPayment(api, { merchant, key });
    expect(retry.statusCode).toBe(201);
    expect(retry.headers['Idempotent-Replayed']).toBeUndefined();
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });

  it('after the payment was written (the idempotency result could not be saved): a retry still cannot double-charge', async () => {
    const merchant = newMerchant();
    const key = newKey();
    let failed = false;
    intercept((call) => {
      if (!failed && call.command === 'UpdateItemCommand' && call.table === api.tables.IDEMPOTENCY_TABLE_NAME) {
        failed = true;
        throw Object.assign(new Error('injected: DynamoDB unavailable'), { name: 'InternalServerError' });
      }
    });
    // The invocation "has" 300 ms left: the in-progress lock it leaves behind expires with it.
    const failure = await postPayment(api, { merchant, key, remainingMs: 300 });
    expectError(failure, 500, 'api_error', 'internal_error');
    const [written] = await paymentsOf(merchant);
    expect(written).toBeDefined();

    const whileLocked = await postPayment(api, { merchant, key });
    expect([409, 201]).toContain(whileLocked.statusCode);

    const retry = await eventually(async () => {
      const response = await postPayment(api, { merchant, key });
      return response.statusCode === 201 ? response : undefined;
    }, 5_000);
    expect(retry.json.id).toBe(written!.id);
    expect(retry.headers['Idempotent-Replayed']).toBe('true');
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });
});

describe('idempotency: key older than the retention', () => {
  it('is kept for IDEMPOTENCY_TTL_SECONDS', async () => {
    const before = Math.floor(Date.now() / 1000);
    await postPayment(api, { key: newKey() });
    const records = await scanTable(api.tables.IDEMPOTENCY_TABLE_NAME);
    const newest = Math.max(...records.map((record) => Number(record.expiration)));
    expect(newest).toBeGreaterThanOrEqual(before + TTL_SECONDS - 1);
    expect(newest).toBeLessThanOrEqual(Math.floor(Date.now() / 1000) + TTL_SECONDS + 1);
  });

  it('is treated as new, but the derived payment id returns the same payment and never creates a second', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const first = await postPayment(api, { merchant, key });
    expect(await expireAllIdempotencyRecords(api)).toBeGreaterThan(0);

    const late = await postPayment(api, { merchant, key });
    expect(late.statusCode).toBe(201);
    expect(late.headers['Idempotent-Replayed']).toBe('true');
    expect(late.json.id).toBe(first.json.id);
    expect(late.rawBody).toBe(first.rawBody);
    // The payment keeps the request id of the POST that created it, not the late retry's.
    expect(late.json.requestId).toBe(first.json.requestId);
    expect(await partitionItems(api, first.json.id)).toHaveLength(1);
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });

  it('a late retry with a different body is 422 idempotency_key_reused (the stored request hash differs)', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const first = await postPayment(api, { merchant, key });
    await expireAllIdempotencyRecords(api);
    const late = await postPayment(api, { merchant, key, body: validPayment({ currency: 'EUR' }) });
    expectError(late, 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key');
    expect((await paymentItem(api, first.json.id))?.currency).toBe('USD');
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });
});

describe('concurrency: 50 identical requests at once', () => {
  it('give exactly one payment item and exactly one non-replayed 201; the rest are byte-identical replays or 409s', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const responses = await Promise.all(Array.from({ length: 50 }, () => postPayment(api, { merchant, key })));

    const originals = responses.filter((r) => r.statusCode === 201 && r.headers['Idempotent-Replayed'] === undefined);
    expect(originals).toHaveLength(1);
    const original = originals[0]!;
    for (const response of responses) {
      if (response === original) continue;
      if (response.statusCode === 201) {
        expect(response.headers['Idempotent-Replayed']).toBe('true');
        expect(response.rawBody).toBe(original.rawBody);
      } else {
        expect(response.statusCode).toBe(409);
        expect(response.json.error.code).toBe('idempotency_key_in_use');
      }
    }
    expect(await paymentsOf(merchant)).toHaveLength(1);
    expect(await partitionItems(api, original.json.id)).toHaveLength(1);
  });
});

describe('headers are case-insensitive', () => {
  it('idempotency-key, Idempotency-Key and IDEMPOTENCY-KEY are the same header', async () => {
    const merchant = newMerchant();
    const key = newKey();
    const lower = await postPayment(api, { merchant, headers: { 'idempotency-key': key, 'content-type': 'application/json' } });
    const canonical = await postPayment(api, { merchant, key });
    const upper = await postPayment(api, { merchant, headers: { 'IDEMPOTENCY-KEY': key, 'CONTENT-TYPE': 'Application/JSON; charset=utf-8' } });
    expect(lower.statusCode).toBe(201);
    expect(lower.headers['Idempotent-Replayed']).toBeUndefined();
    for (const replay of [canonical, upper]) {
      expect(replay.statusCode).toBe(201);
      expect(replay.headers['Idempotent-Replayed']).toBe('true');
      expect(replay.rawBody).toBe(lower.rawBody);
    }
    expect(await paymentsOf(merchant)).toHaveLength(1);
  });

  it('two different values of the key header in one request are rejected as ambiguous', async () => {
    const response = await postPayment(api, { headers: { 'idempotency-key': newKey(), 'Idempotency-Key': newKey() } });
    expectError(response, 400, 'invalid_request_error', 'idempotency_key_invalid', 'Idempotency-Key');
  });
});
