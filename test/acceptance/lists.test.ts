// The lists over HTTP on the stack under test: the list shape, cursor pagination while payments keep arriving,
// merchant isolation, a refund by id.
import { describe, expect, it } from 'vitest';
import type { Payment } from '../../client/payments-client.ts';
import { call, expectError, merchant, paymentReaching } from './target.ts';

const merchantA = merchant('MerchantA');
const merchantB = merchant('MerchantB');

const create = (amount: number) => merchantB.client.createPayment({ amount, currency: 'EUR', source: 'tok_success' });

describe('GET /payments: pagination never skips or repeats an item while new ones arrive', () => {
  it('pages of 2, with payments created between every page', async () => {
    const known: Payment[] = [];
    for (let i = 0; i < 6; i++) known.push(await create(300 + i));
    const oldest = known[0]!.id;

    const seen: string[] = [];
    const createdAfterFirstPage: string[] = [];
    let after: string | undefined;
    for (let page = 0; !seen.includes(oldest); page++) {
      const answer = await call('GET', `payments?limit=2${after ? `&starting_after=${after}` : ''}`, { apiKey: merchantB.apiKey });
      expect(answer.status).toBe(200);
      expect(answer.json).toMatchObject({ object: 'list', has_more: expect.any(Boolean) });
      expect(answer.json.data.length).toBeLessThanOrEqual(2);
      seen.push(...answer.json.data.map((payment: Payment) => payment.id));
      // Arrivals between pages: newer than every listed payment, so they come before the cursor.
      createdAfterFirstPage.push((await create(400 + page)).id);
      if (!answer.json.has_more) break;
      after = seen.at(-1);
    }

    expect(new Set(seen).size).toBe(seen.length);
    const positions = known.map((payment) => seen.indexOf(payment.id));
    expect(positions.every((position) => position >= 0)).toBe(true);
    expect(positions).toEqual(positions.toSorted((x, y) => y - x));
    expect(seen.filter((id) => createdAfterFirstPage.includes(id))).toEqual([]);
  });

  it('the client walks every page with all()', async () => {
    const mine = [await create(551), await create(552), await create(553)];
    const walked: string[] = [];
    for await (const payment of merchantB.client.all((page) => merchantB.client.listPayments(page), 2)) {
      walked.push(payment.id);
      if (mine.every((p) => walked.includes(p.id)) || walked.length > 500) break;
    }
    expect(walked.slice(0, 3)).toEqual(mine.map((p) => p.id).toReversed());
  });
});

describe('lists are merchant-scoped', () => {
  it("merchant-a's list has none of merchant-b's payments; b's payment is no cursor for a", async () => {
    const ofB = await create(777);
    const listA = await merchantA.client.listPayments({ limit: 100 });
    expect(listA.data.map((payment) => payment.id)).not.toContain(ofB.id);
    expectError(await call('GET', `payments?starting_after=${ofB.id}`, { apiKey: merchantA.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'starting_after');
  });

  it("refunds: a's payment's refunds and a's refund are 404 for merchant-b, 200 for a", async () => {
    const payment = await merchantA.client.createPayment({ amount: 900, currency: 'EUR', source: 'tok_success' });
    await paymentReaching(merchantA, payment.id, ['succeeded']);
    const refund = await merchantA.client.createRefund(payment.id, { amount: 300 });
    expect(await merchantA.client.getRefund(refund.id)).toMatchObject({ id: refund.id, paymentId: payment.id, amount: 300, object: 'refund' });
    const refunds = await merchantA.client.listRefunds(payment.id);
    expect(refunds).toMatchObject({ object: 'list', has_more: false, data: [{ id: refund.id }] });
    expectError(await call('GET', `refunds/${refund.id}`, { apiKey: merchantB.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await call('GET', `payments/${payment.id}/refunds`, { apiKey: merchantB.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
  });

  it('bad list parameters are 400 in the error shape', async () => {
    expectError(await call('GET', 'payments?limit=1000', { apiKey: merchantA.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'limit');
    expectError(await call('GET', 'payments?colour=red', { apiKey: merchantA.apiKey }), 400, 'invalid_request_error', 'parameter_unknown', 'colour');
  });
});
