import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  InvalidPostingAmount,
  PROCESSOR_CLEARING_ACCOUNT,
  balancesByAccount,
  capturePosting,
  isBalanced,
  merchantAccount,
  refundPosting,
  totalBalanceByCurrency,
} from '../../../lambdas/domain/ledger.ts';

const capture = { paymentId: 'pay_1', merchantId: 'merchant-a', currency: 'USD' as const, amount: 2500 };

describe('capture posting', () => {
  it('debits processor clearing and credits the merchant by the captured amount', () => {
    expect(capturePosting(capture)).toEqual({
      paymentId: 'pay_1',
      merchantId: 'merchant-a',
      currency: 'USD',
      lines: [
        { account: PROCESSOR_CLEARING_ACCOUNT, amount: 2500 },
        { account: merchantAccount('merchant-a'), amount: -2500 },
      ],
    });
  });

  it.each([0, -1, 10.5, Number.NaN, Number.MAX_SAFE_INTEGER + 1])('refuses the amount %s (positive integer minor units only)', (amount) => {
    expect(() => capturePosting({ ...capture, amount })).toThrow(InvalidPostingAmount);
  });
});

describe('refund posting', () => {
  it('reverses part of the capture: debits the merchant, credits clearing', () => {
    expect(refundPosting({ ...capture, refundId: 're_1', amount: 700 }).lines).toEqual([
      { account: 'merchant:merchant-a', amount: 700 },
      { account: 'processor_clearing', amount: -700 },
    ]);
  });

  it('refuses a zero refund', () => {
    expect(() => refundPosting({ ...capture, refundId: 're_1', amount: 0 })).toThrow(InvalidPostingAmount);
  });
});

describe('isBalanced', () => {
  it('accepts lines that sum to zero and rejects the rest', () => {
    expect(isBalanced(capturePosting(capture).lines)).toBe(true);
    expect(isBalanced([{ account: 'a', amount: 5 }, { account: 'b', amount: -4 }])).toBe(false);
    expect(isBalanced([{ account: 'a', amount: 0 }, { account: 'b', amount: 0 }])).toBe(false);
    expect(isBalanced([{ account: 'a', amount: 0.5 }, { account: 'b', amount: -0.5 }])).toBe(false);
    expect(isBalanced([])).toBe(false);
  });
});

describe('balances', () => {
  it('per account and currency: a capture and its refunds leave clearing = merchant debt = captured - refunded', () => {
    const postings = [
      capturePosting(capture),
      refundPosting({ ...capture, refundId: 're_1', amount: 1000 }),
      capturePosting({ ...capture, paymentId: 'pay_2', currency: 'EUR', amount: 300 }),
    ];
    expect(balancesByAccount(postings)).toEqual({
      USD: { processor_clearing: 1500, 'merchant:merchant-a': -1500 },
      EUR: { processor_clearing: 300, 'merchant:merchant-a': -300 },
    });
    expect(totalBalanceByCurrency(postings)).toEqual({ USD: 0, EUR: 0 });
  });

  it('property: any captures and refunds (never more than captured) keep every posting balanced and the sum of balances zero', () => {
    const payment = fc.record({
      merchantId: fc.constantFrom('merchant-a', 'merchant-b', 'merchant-c'),
      currency: fc.constantFrom('USD' as const, 'EUR' as const, 'JPY' as const),
      amount: fc.integer({ min: 1, max: 99_999_999 }),
      refundFractions: fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(fc.array(payment, { minLength: 1, maxLength: 20 }), (payments) => {
        const postings = payments.flatMap((p, index) => {
          const captured = capturePosting({ paymentId: `pay_${index}`, merchantId: p.merchantId, currency: p.currency, amount: p.amount });
          let refundable = p.amount;
          const refunds = p.refundFractions.flatMap((fraction, n) => {
            const amount = Math.floor(refundable * fraction);
            if (amount < 1) return [];
            refundable -= amount;
            return [refundPosting({ paymentId: `pay_${index}`, refundId: `re_${n}`, merchantId: p.merchantId, currency: p.currency, amount })];
          });
          return [captured, ...refunds];
        });
        expect(postings.every((posting) => isBalanced(posting.lines))).toBe(true);
        for (const total of Object.values(totalBalanceByCurrency(postings))) expect(total).toBe(0);
        // Refunds never exceed captures: no merchant ever ends up owed a negative amount (a positive balance).
        for (const accounts of Object.values(balancesByAccount(postings))) {
          for (const [account, balance] of Object.entries(accounts)) {
            if (account.startsWith('merchant:')) expect(balance).toBeLessThanOrEqual(0);
          }
        }
      }),
    );
  });
});
