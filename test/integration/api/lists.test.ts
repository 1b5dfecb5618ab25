// The list endpoints on DynamoDB Local: the handlers, the use cases and the Payments-table adapter with its lookup index.
import { randomUUID } from 'node:crypto';
import { UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { beforeAll, describe, expect, it } from 'vitest';
import { apiEvent, lambdaContext } from '../../support/api-events.ts';
import { documentClient } from '../../support/aws.ts';
import { postPayment, postRefund, seedSucceededPayment, setUpApi, toResponse, validPayment, type ApiUnderTest, type Handler, type Response } from './helpers.ts';

let api: ApiUnderTest;
let listPayments: Handler;
let listRefunds: Handler;
let getRefund: Handler;
beforeAll(async () => {
  api = await setUpApi();
  [listPayments, listRefunds, getRefund] = await Promise.all([
    import('../../../lambdas/handlers/api/list-payments.ts').then((m) => m.handler),
    import('../../../lambdas/handlers/api/list-refunds.ts').then((m) => m.handler),
    import('../../../lambdas/handlers/api/get-refund.ts').then((m) => m.handler),
  ]);
});

const newMerchant = () => `merchant-${randomUUID().slice(0, 8)}`;

async function listOf(merchant: string, query: Record<string, string> | Array<[string, string]> = {}): Promise<Response> {
  const event = apiEvent({ method: 'GET', resource: '/v1/payments', apiKeyId: merchant, query: Array.isArray(query) ? query : Object.entries(query) });
  return toResponse(await listPayments(event, lambdaContext()));
}

async function refundsOf(paymentId: string, merchant: string, query: Record<string, string> = {}): Promise<Response> {
  const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}/refunds', pathParameters: { id: paymentId }, apiKeyId: merchant, query: Object.entries(query) });
  return toResponse(await listRefunds(event, lambdaContext()));
}

async function refundById(refundId: string, merchant: string): Promise<Response> {
  const event = apiEvent({ method: 'GET', resource: '/v1/refunds/{id}', pathParameters: { id: refundId }, apiKeyId: merchant });
  return toResponse(await getRefund(event, lambdaContext()));
}

async function createPayments(merchant: string, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const created = await postPayment(api, { merchant, key: randomUUID(), body: validPayment({ amount: 100 + i, source: i % 2 ? 'tok_decline' : 'tok_success' }) });
    expect(created.statusCode).toBe(201);
    ids.push(created.json.id);
  }
  return ids;
}

describe('GET /v1/payments', () => {
  it("lists the merchant's payments newest first in the list shape, default limit 10", async () => {
    const merchant = newMerchant();
    const ids = await createPayments(merchant, 12);
    const page = await listOf(merchant);
    expect(page.statusCode).toBe(200);
    expect(page.json.object).toBe('list');
    expect(page.json.has_more).toBe(true);
    expect(page.json.data.map((p: { id: string }) => p.id)).toEqual(ids.toReversed().slice(0, 10));
    expect(Object.keys(page.json).sort()).toEqual(['data', 'has_more', 'object']);
    // The views are the payments' public views: no storage attributes (lookupPK, merchantId, ...).
    expect(page.json.data[0]).not.toHaveProperty('lookupPK');
    expect(page.json.data[0]).not.toHaveProperty('merchantId');
    expect(page.json.data[0].object).toBe('payment');
  });

  it('pages with limit and starting_after through every payment exactly once, has_more false at the end', async () => {
    const merchant = newMerchant();
    const ids = await createPayments(merchant, 7);
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await listOf(merchant, { limit: '3', ...(after ? { starting_after: after } : {}) });
      expect(page.statusCode).toBe(200);
      seen.push(...page.json.data.map((p: { id: string }) => p.id));
      if (!page.json.has_more) break;
      after = seen.at(-1);
    }
    expect(seen).toEqual(ids.toReversed());
  });

  it('a page after a cursor is unchanged by payments created meanwhile: no item skipped or repeated', async () => {
    const merchant = newMerchant();
    const before = await createPayments(merchant, 5);
    const first = await listOf(merchant, { limit: '2' });
    const arrived = await createPayments(merchant, 3);
    const rest = await listOf(merchant, { limit: '100', starting_after: first.json.data[1].id });
    expect([...first.json.data, ...rest.json.data].map((p: { id: string }) => p.id)).toEqual(before.toReversed());
    expect(rest.json.data.map((p: { id: string }) => p.id)).not.toContain(arrived[0]);
  });

  it('status filters the list and still pages by cursor', async () => {
    const merchant = newMerchant();
    const ids = await createPayments(merchant, 7);
    const failed = ids.filter((_, i) => i % 3 === 0);
    await Promise.all(failed.map((id) => documentClient().send(new UpdateCommand({
      TableName: api.tables.PAYMENTS_TABLE_NAME,
      Key: { PK: `PAYMENT#${id}`, SK: 'PAYMENT' },
      UpdateExpression: 'SET #status = :failed',
      ExpressionAttributeNames: { '#status': 'status' },
      ExpressionAttributeValues: { ':failed': 'failed' },
    }))));
    const first = await listOf(merchant, { status: 'failed', limit: '2' });
    expect(first.json.has_more).toBe(true);
    const rest = await listOf(merchant, { status: 'failed', starting_after: first.json.data[1].id });
    expect(rest.json.has_more).toBe(false);
    expect([...first.json.data, ...rest.json.data].map((p: { id: string }) => p.id)).toEqual(failed.toReversed());
    expect((await listOf(merchant, { status: 'pending', limit: '100' })).json.data).toHaveLength(ids.length - failed.length);
    const none = await listOf(merchant, { status: 'succeeded' });
    expect(none.json).toEqual({ object: 'list', data: [], has_more: false });
  });

  it("never shows another merchant's payments, and another merchant's payment is not a cursor", async () => {
    const [merchantA, merchantB] = [newMerchant(), newMerchant()];
    const ofA = await createPayments(merchantA, 2);
    await createPayments(merchantB, 1);
    const listB = await listOf(merchantB, { limit: '100' });
    expect(listB.json.data).toHaveLength(1);
    expect(listB.json.data.map((p: { id: string }) => p.id)).not.toContain(ofA[0]);
    const foreignCursor = await listOf(merchantB, { starting_after: ofA[0]! });
    expect(foreignCursor.statusCode).toBe(400);
    expect(foreignCursor.json.error).toMatchObject({ code: 'parameter_invalid', param: 'starting_after' });
  });

  it.each([
    [{ limit: '0' }, 'parameter_invalid', 'limit'],
    [{ limit: '101' }, 'parameter_invalid', 'limit'],
    [{ limit: 'ten' }, 'parameter_invalid', 'limit'],
    [{ limit: '2.5' }, 'parameter_invalid', 'limit'],
    [{ status: 'settled' }, 'parameter_invalid', 'status'],
    [{ starting_after: 'pay_000000000000000000000000' }, 'parameter_invalid', 'starting_after'],
    [{ starting_after: '../x' }, 'parameter_invalid', 'starting_after'],
    [{ cursor: 'x' }, 'parameter_unknown', 'cursor'],
  ])('bad query %j is 400 %s naming %s', async (query, code, param) => {
    const answer = await listOf(newMerchant(), query);
    expect(answer.statusCode).toBe(400);
    expect(answer.json.error).toMatchObject({ type: 'invalid_request_error', code, param });
  });

  it('a parameter sent twice with different values is 400', async () => {
    const answer = await listOf(newMerchant(), [['limit', '2'], ['limit', '3']]);
    expect(answer.statusCode).toBe(400);
    expect(answer.json.error).toMatchObject({ code: 'parameter_invalid', param: 'limit' });
  });
});

describe('GET /v1/payments/{id}/refunds and GET /v1/refunds/{id}', () => {
  async function paymentWithRefunds(merchant: string, count: number) {
    const payment = await seedSucceededPayment(api, { id: `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`, merchant, amount: 10_000 });
    const refunds: string[] = [];
    for (let i = 0; i < count; i++) {
      const refund = await postRefund(api, payment.id, { merchant, key: randomUUID(), body: { amount: 100 } });
      expect(refund.statusCode).toBe(201);
      refunds.push(refund.json.id);
    }
    return { paymentId: payment.id, refunds };
  }

  it("lists a payment's refunds newest first, paged without skipping or repeating while more arrive", async () => {
    const merchant = newMerchant();
    const { paymentId, refunds } = await paymentWithRefunds(merchant, 4);
    const first = await refundsOf(paymentId, merchant, { limit: '2' });
    expect(first.statusCode).toBe(200);
    expect(first.json.has_more).toBe(true);
    const arrived = await postRefund(api, paymentId, { merchant, key: randomUUID(), body: { amount: 100 } });
    const rest = await refundsOf(paymentId, merchant, { starting_after: first.json.data[1].id });
    expect(rest.json.has_more).toBe(false);
    const listed = [...first.json.data, ...rest.json.data].map((r: { id: string }) => r.id);
    expect(new Set(listed)).toEqual(new Set(refunds));
    expect(listed).toHaveLength(4);
    expect(listed).not.toContain(arrived.json.id);
    const createdAt = [...first.json.data, ...rest.json.data].map((r: { createdAt: string }) => r.createdAt);
    expect(createdAt).toEqual(createdAt.toSorted().toReversed());
  });

  it("another merchant's payment is 404 for its refunds, and its refund is 404 by id", async () => {
    const merchant = newMerchant();
    const { paymentId, refunds } = await paymentWithRefunds(merchant, 1);
    const own = await refundById(refunds[0]!, merchant);
    expect(own.statusCode).toBe(200);
    expect(own.json).toMatchObject({ id: refunds[0], object: 'refund', paymentId, amount: 100 });
    expect(own.json).not.toHaveProperty('lookupPK');
    for (const answer of [await refundsOf(paymentId, newMerchant()), await refundById(refunds[0]!, newMerchant()), await refundById('re_000000000000000000000000', merchant)]) {
      expect(answer.statusCode).toBe(404);
      expect(answer.json.error.code).toBe('resource_not_found');
    }
  });
});

describe('key rotation: a merchant with two keys', () => {
  it('both keys see the same payments and share idempotency keys; an unlisted (revoked) key is 403', async () => {
    const { registerApiKey } = await import('../../support/api-events.ts');
    const merchant = newMerchant();
    const [oldKey, newKey] = [`key-${randomUUID().slice(0, 8)}`, `key-${randomUUID().slice(0, 8)}`];
    registerApiKey(oldKey, merchant);
    registerApiKey(newKey, merchant);
    const idempotencyKey = randomUUID();
    const first = await postPayment(api, { merchant: oldKey, key: idempotencyKey });
    const retried = await postPayment(api, { merchant: newKey, key: idempotencyKey });
    expect(first.statusCode).toBe(201);
    expect(retried.statusCode).toBe(201);
    expect(retried.headers['Idempotent-Replayed']).toBe('true');
    expect(retried.json.id).toBe(first.json.id);
    const listed = await listOf(newKey);
    expect(listed.json.data.map((p: { id: string }) => p.id)).toEqual([first.json.id]);
    const revoked = toResponse(await listPayments(apiEvent({ method: 'GET', resource: '/v1/payments', apiKeyId: `key-${randomUUID()}`, unlistedKey: true }), lambdaContext()));
    expect(revoked.statusCode).toBe(403);
    expect(revoked.json.error.code).toBe('invalid_api_key');
  });
});
