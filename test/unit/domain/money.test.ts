import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  CURRENCY_EXPONENTS,
  MAX_AMOUNT,
  MIN_AMOUNT,
  SUPPORTED_CURRENCIES,
  formatAmount,
  isSupportedCurrency,
  isValidAmount,
  minorUnitExponent,
} from '../../../lambdas/domain/money.ts';

describe('currencies', () => {
  it('are upper-case ISO 4217 codes with their minor-unit exponent', () => {
    expect(minorUnitExponent('USD')).toBe(2);
    expect(minorUnitExponent('EUR')).toBe(2);
    expect(minorUnitExponent('JPY')).toBe(0);
    expect(minorUnitExponent('KRW')).toBe(0);
    expect(minorUnitExponent('BHD')).toBe(3);
    expect(minorUnitExponent('KWD')).toBe(3);
    for (const code of SUPPORTED_CURRENCIES) {
      expect(code).toMatch(/^[A-Z]{3}$/);
      expect([0, 2, 3]).toContain(CURRENCY_EXPONENTS[code]);
    }
  });

  it('accepts only allowlisted codes, case-sensitively', () => {
    expect(isSupportedCurrency('USD')).toBe(true);
    expect(isSupportedCurrency('usd')).toBe(false);
    expect(isSupportedCurrency('XXX')).toBe(false);
    expect(isSupportedCurrency('toString')).toBe(false);
    expect(isSupportedCurrency('__proto__')).toBe(false);
    expect(isSupportedCurrency(840)).toBe(false);
  });
});

describe('amounts in minor units', () => {
  it('are integers from 1 to 99 999 999', () => {
    expect(isValidAmount(MIN_AMOUNT)).toBe(true);
    expect(isValidAmount(MAX_AMOUNT)).toBe(true);
    expect(MIN_AMOUNT).toBe(1);
    expect(MAX_AMOUNT).toBe(99_999_999);
    for (const invalid of [0, -1, MAX_AMOUNT + 1, 10.5, 0.1, Number.NaN, Number.POSITIVE_INFINITY, '100', null, undefined, 2 ** 53]) {
      expect(isValidAmount(invalid), String(invalid)).toBe(false);
    }
  });

  it('property: a number is valid exactly when it is an integer within bounds', () => {
    fc.assert(fc.property(fc.double(), (value) => {
      expect(isValidAmount(value)).toBe(Number.isInteger(value) && value >= MIN_AMOUNT && value <= MAX_AMOUNT);
    }));
  });

  it('are formatted with the currency exponent for messages', () => {
    expect(formatAmount(1050, 'USD')).toBe('10.50 USD');
    expect(formatAmount(5, 'USD')).toBe('0.05 USD');
    expect(formatAmount(1050, 'JPY')).toBe('1050 JPY');
    expect(formatAmount(1, 'BHD')).toBe('0.001 BHD');
    expect(formatAmount(-250, 'EUR')).toBe('-2.50 EUR');
  });
});
