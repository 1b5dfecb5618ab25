import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { ApiError } from '../../../contract/errors.ts';
import { toRefundView } from '../../../contract/resources.ts';
import { refundItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { toApiError } from '../../../lambdas/commons/http.ts';
import type { PaymentStatus } from '../../../lambdas/domain/payment.ts';
import { RefundRefused, canRefundTransition, isRefundable, newRefund, resolveRefundAmount } from '../../../lambdas/domain/refund.ts';

/** The refusal the domain throws, as the API answers it. */
function errorOf(fn: () => unknown): ApiError {
  try {
    fn();
  } catch (error) {
    if (error instanceof RefundRefused) return toApiError(error);
    throw error;
  }
  throw new Error('expected a RefundRefused');
}

describe('refundable amount rules', () => {
  it('only succeeded and partially_refunded payments are refundable', () => {
    const statuses: PaymentStatus[] = ['pending', 'processing', 'failed', 'refunded'];
    for (const status of statuses) {
      expect(isRefundable({ status })).toBe(false);
      const error = errorOf(() => resolveRefundAmount({ status, amountRefundable: 100 }, 10));
      expect([error.statusCode, error.type, error.code]).toEqual([409, 'invalid_request_error', 'payment_not_refundable']);
    }
    expect(isRefundable({ status: 'succeeded' })).toBe(true);
    expect(isRefundable({ status: 'partially_refunded' })).toBe(true);
  });

  it('a partial refund reserves the requested amount', () => {
    expect(resolveRefundAmount({ status: 'succeeded', amountRefundable: 1000 }, 400)).toBe(400);
    expect(resolveRefundAmount({ status: 'partially_refunded', amountRefundable: 600 }, 600)).toBe(600);
  });

  it('no amount means everything still refundable', () => {
    expect(resolveRefundAmount({ status: 'succeeded', amountRefundable: 1000 }, undefined)).toBe(1000);
    expect(resolveRefundAmount({ status: 'partially_refunded', amountRefundable: 1 }, undefined)).toBe(1);
  });

  it('more than refundable is 422 refund_exceeds_refundable on param amount', () => {
    const error = errorOf(() => resolveRefundAmount({ status: 'succeeded', amountRefundable: 1000 }, 1001));
    expect([error.statusCode, error.code, error.param]).toEqual([422, 'refund_exceeds_refundable', 'amount']);
    const nothingLeft = errorOf(() => resolveRefundAmount({ status: 'partially_refunded', amountRefundable: 0 }, undefined));
    expect([nothingLeft.statusCode, nothingLeft.code]).toEqual([422, 'refund_exceeds_refundable']);
  });

  it('property: a resolved amount is always within 1..amountRefundable', () => {
    fc.assert(fc.property(fc.integer({ min: 0, max: 99_999_999 }), fc.option(fc.integer({ min: 1, max: 99_999_999 }), { nil: undefined }), (refundable, requested) => {
      try {
        const amount = resolveRefundAmount({ status: 'succeeded', amountRefundable: refundable }, requested);
        expect(amount).toBeGreaterThanOrEqual(1);
        expect(amount).toBeLessThanOrEqual(refundable);
      } catch (error) {
        expect(error).toBeInstanceOf(RefundRefused);
        expect(toApiError(error).code).toBe('refund_exceeds_refundable');
      }
    }));
  });

  it('refund statuses move only from pending to succeeded or failed', () => {
    expect(canRefundTransition('pending', 'succeeded')).toBe(true);
    expect(canRefundTransition('pending', 'failed')).toBe(true);
    expect(canRefundTransition('succeeded', 'failed')).toBe(false);
    expect(canRefundTransition('failed', 'pending')).toBe(false);
  });
});

describe('a new refund item (CONTRACT refund item)', () => {
  it('is pending, open, in its payment partition, in the payment currency', () => {
    const item = refundItem(newRefund({
      id: 're_1', payment: { id: 'pay_1', merchantId: 'm', currency: 'JPY' }, amount: 500, reason: 'duplicate',
      requestHash: 'h', now: new Date('2026-01-01T00:00:00.000Z'),
    }));
    expect(item).toEqual({
      PK: 'PAYMENT#pay_1', SK: 'REFUND#re_1', entity: 'refund', id: 're_1', paymentId: 'pay_1', merchantId: 'm',
      lookupPK: 'REFUND#re_1', lookupSK: 'REFUND', amount: 500, currency: 'JPY', status: 'pending', reason: 'duplicate', requestHash: 'h', openEntity: 'refund',
      createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
    });
    const view = toRefundView(item);
    expect(view).toEqual({
      id: 're_1', object: 'refund', paymentId: 'pay_1', amount: 500, currency: 'JPY', status: 'pending', reason: 'duplicate',
      createdAt: '2026-01-01T00:00:00.000Z', updatedAt: '2026-01-01T00:00:00.000Z',
    });
  });
});
