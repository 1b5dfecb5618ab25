import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  canonicalJson,
  isPaymentId,
  isRefundId,
  paymentExecutionName,
  paymentIdFor,
  refundExecutionName,
  refundIdFor,
  requestHash,
} from '../../../lambdas/domain/ids.ts';

const sha256Hex = (text: string) => createHash('sha256').update(text).digest('hex');

describe('payment ids (CONTRACT ids)', () => {
  it('are pay_ + the first 24 hex chars of sha256("payment\\0<merchant>\\0<key>")', () => {
    expect(paymentIdFor('m1', 'key-1')).toBe(`pay_${sha256Hex('payment\0m1\0key-1').slice(0, 24)}`);
    expect(isPaymentId(paymentIdFor('m1', 'key-1'))).toBe(true);
  });

  it('are deterministic per (merchant, key) and scoped per merchant', () => {
    expect(paymentIdFor('m1', 'k')).toBe(paymentIdFor('m1', 'k'));
    expect(paymentIdFor('m1', 'k')).not.toBe(paymentIdFor('m2', 'k'));
    expect(paymentIdFor('m1', 'k')).not.toBe(paymentIdFor('m1', 'k2'));
  });

  it('cannot be confused by moving characters between merchant and key', () => {
    fc.assert(fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (a, b, c) => {
      fc.pre(!a.includes('\0') && !b.includes('\0') && !c.includes('\0'));
      expect(paymentIdFor(a + b, c)).not.toBe(paymentIdFor(a, b + c));
    }));
  });
});

describe('refund ids (CONTRACT ids)', () => {
  it('are re_ + the first 24 hex chars of sha256("refund\\0<merchant>\\0<paymentId>\\0<key>")', () => {
    expect(refundIdFor('m1', 'pay_1', 'k')).toBe(`re_${sha256Hex('refund\0m1\0pay_1\0k').slice(0, 24)}`);
    expect(isRefundId(refundIdFor('m1', 'pay_1', 'k'))).toBe(true);
    expect(refundIdFor('m1', 'pay_1', 'k')).not.toBe(refundIdFor('m1', 'pay_2', 'k'));
  });

  it('execution names are payment-<paymentId> and refund-<refundId>', () => {
    expect(paymentExecutionName('pay_abc')).toBe('payment-pay_abc');
    expect(refundExecutionName('re_abc')).toBe('refund-re_abc');
  });

  it('rejects strings that are not ids', () => {
    for (const value of ['pay_', 'pay_XYZ', `pay_${'a'.repeat(25)}`, 're_123', '../pay_x', '']) {
      expect(isPaymentId(value), value).toBe(false);
    }
  });
});

describe('request hash', () => {
  it('is sha256 of canonical JSON: independent of key order, sensitive to values', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: 'x' } })).toBe('{"a":{"c":"x","d":[2,1]},"b":1}');
    expect(requestHash({ amount: 1, currency: 'USD' })).toBe(requestHash({ currency: 'USD', amount: 1 }));
    expect(requestHash({ amount: 1, currency: 'USD' })).not.toBe(requestHash({ amount: 2, currency: 'USD' }));
    expect(requestHash({ a: 1 })).toBe(sha256Hex('{"a":1}'));
  });

  it('property: equal for any permutation of the keys of a JSON object', () => {
    fc.assert(fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (object) => {
      const reversed = Object.fromEntries(Object.entries(object).reverse());
      expect(requestHash(reversed)).toBe(requestHash(object));
    }));
  });
});
