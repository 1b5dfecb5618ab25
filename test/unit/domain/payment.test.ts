import { toPaymentView } from '../../../contract/resources.ts';
import { paymentItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { describe, expect, it } from 'vitest';
import {
  PAYMENT_STATUSES,
  canTransition,
  isSagaTerminal,
  newPayment,
  statusAfterRefund,
  statusesAllowedBefore,
  type PaymentStatus,
} from '../../../lambdas/domain/payment.ts';

describe('payment status transitions (CONTRACT statuses)', () => {
  const allowed: Array<[PaymentStatus, PaymentStatus]> = [
    ['pending', 'processing'],
    ['processing', 'succeeded'],
    ['processing', 'failed'],
    ['succeeded', 'partially_refunded'],
    ['succeeded', 'refunded'],
    ['partially_refunded', 'refunded'],
  ];

  it.each(allowed)('%s → %s is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it('nothing else moves a payment, in particular nothing moves backwards or out of failed/refunded', () => {
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const isAllowed = allowed.some(([f, t]) => f === from && t === to) || (from === 'partially_refunded' && to === 'partially_refunded');
        expect(canTransition(from, to), `${from} → ${to}`).toBe(isAllowed);
      }
    }
    expect(canTransition('succeeded', 'pending')).toBe(false);
    expect(canTransition('failed', 'succeeded')).toBe(false);
    expect(canTransition('refunded', 'partially_refunded')).toBe(false);
  });

  it('gives the statuses a conditional update may start from', () => {
    expect(statusesAllowedBefore('processing')).toEqual(['pending']);
    expect(statusesAllowedBefore('succeeded')).toEqual(['processing']);
    expect(statusesAllowedBefore('refunded').sort()).toEqual(['partially_refunded', 'succeeded']);
  });

  it('knows when the saga has nothing left to do', () => {
    expect(isSagaTerminal('pending')).toBe(false);
    expect(isSagaTerminal('processing')).toBe(false);
    expect(isSagaTerminal('succeeded')).toBe(true);
    expect(isSagaTerminal('failed')).toBe(true);
  });

  it('derives the status after a refund from captured and refunded amounts', () => {
    expect(statusAfterRefund(1000, 400)).toBe('partially_refunded');
    expect(statusAfterRefund(1000, 1000)).toBe('refunded');
  });
});

describe('a new payment item (CONTRACT payments table)', () => {
  const now = new Date('2026-01-02T03:04:05.678Z');

  it('is pending, with nothing captured, keyed by its id and in its merchant\'s payments (no open-items entry: reconciliation reads those)', () => {
    const item = paymentItem(newPayment({
      id: 'pay_0123456789abcdef01234567', merchantId: 'm1', amount: 1999, currency: 'EUR', source: 'tok_success',
      description: 'd', metadata: { k: 'v' }, requestHash: 'h', now,
    }));
    expect(item).toEqual({
      PK: 'PAYMENT#pay_0123456789abcdef01234567',
      SK: 'PAYMENT',
      entity: 'payment',
      id: 'pay_0123456789abcdef01234567',
      merchantId: 'm1',
      lookupPK: 'MERCHANT#m1#PAYMENTS',
      lookupSK: '2026-01-02T03:04:05.678Z#pay_0123456789abcdef01234567',
      amount: 1999,
      currency: 'EUR',
      status: 'pending',
      source: 'tok_success',
      description: 'd',
      metadata: { k: 'v' },
      amountCaptured: 0,
      amountRefunded: 0,
      amountRefundable: 0,
      requestHash: 'h',
      createdAt: '2026-01-02T03:04:05.678Z',
      updatedAt: '2026-01-02T03:04:05.678Z',
    });
  });

  it('has no keys for absent optional fields (undefined would break the idempotency store)', () => {
    const item = paymentItem(newPayment({ id: 'pay_x', merchantId: 'm', amount: 1, currency: 'USD', source: 'tok_success', requestHash: 'h', now }));
    expect(Object.keys(item)).not.toContain('description');
    expect(Object.keys(item)).not.toContain('metadata');
    expect(Object.keys(item)).not.toContain('requestId');
    expect(Object.values(item)).not.toContain(undefined);
  });

  it('keeps the API request id that created it, as an opaque correlation id', () => {
    const payment = newPayment({ id: 'pay_x', merchantId: 'm', amount: 1, currency: 'USD', source: 'tok_success', requestHash: 'h', requestId: 'req-1', now });
    expect(paymentItem(payment)).toMatchObject({ requestId: 'req-1' });
  });
});

describe('the public payment view', () => {
  it('hides storage keys, the merchant, the request hash and processor references', () => {
    const item = {
      ...paymentItem(newPayment({ id: 'pay_x', merchantId: 'm', amount: 1, currency: 'USD' as const, source: 'tok_success', requestHash: 'h', now: new Date() })),
      authorizationId: 'auth_1',
      failureCode: 'card_declined',
    };
    const view = toPaymentView(item);
    expect(view).toMatchObject({ id: 'pay_x', object: 'payment', amount: 1, currency: 'USD', status: 'pending', failureCode: 'card_declined' });
    for (const hidden of ['PK', 'SK', 'merchantId', 'requestHash', 'authorizationId', 'openEntity', 'entity']) {
      expect(view).not.toHaveProperty(hidden);
    }
    expect(view).not.toHaveProperty('requestId');
  });

  it('shows the request id that created it, when it has one (older payments have none)', () => {
    const payment = newPayment({ id: 'pay_x', merchantId: 'm', amount: 1, currency: 'USD', source: 'tok_success', requestHash: 'h', requestId: 'req-1', now: new Date() });
    expect(toPaymentView(payment)).toMatchObject({ id: 'pay_x', requestId: 'req-1' });
  });
});
