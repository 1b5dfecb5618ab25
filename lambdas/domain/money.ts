/**
 * Money is always an integer number of the currency's minor unit (cents for USD, yen for JPY,
 * fils for BHD). Only currencies on this allowlist are accepted; each maps to its ISO 4217 minor-unit
 * exponent.
 */
export const CURRENCY_EXPONENTS = {
  AED: 2, AUD: 2, BGN: 2, BHD: 3, BRL: 2, CAD: 2, CHF: 2, CLP: 0, CNY: 2, CZK: 2,
  DKK: 2, EUR: 2, GBP: 2, HKD: 2, HUF: 2, IDR: 2, ILS: 2, INR: 2, ISK: 0, JOD: 3,
  JPY: 0, KRW: 0, KWD: 3, MXN: 2, MYR: 2, NOK: 2, NZD: 2, OMR: 3, PHP: 2, PLN: 2,
  RON: 2, SAR: 2, SEK: 2, SGD: 2, THB: 2, TND: 3, TRY: 2, TWD: 2, UGX: 0, USD: 2,
  VND: 0, ZAR: 2,
} as const satisfies Record<string, 0 | 2 | 3>;

export type Currency = keyof typeof CURRENCY_EXPONENTS;

export const SUPPORTED_CURRENCIES = Object.keys(CURRENCY_EXPONENTS) as Currency[];

/** Smallest and largest amount accepted for one payment or refund, in minor units. */
export const MIN_AMOUNT = 1;
export const MAX_AMOUNT = 99_999_999;

export function isSupportedCurrency(value: unknown): value is Currency {
  return typeof value === 'string' && Object.hasOwn(CURRENCY_EXPONENTS, value);
}

export function minorUnitExponent(currency: Currency): number {
  return CURRENCY_EXPONENTS[currency];
}

/** An amount is valid when it is a safe integer number of minor units within [MIN_AMOUNT, MAX_AMOUNT]. */
export function isValidAmount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= MIN_AMOUNT && value <= MAX_AMOUNT;
}

/** Human-readable major-unit string, e.g. (1050, 'USD') -> '10.50 USD'. For messages only, never for arithmetic. */
export function formatAmount(amount: number, currency: Currency): string {
  const exponent = minorUnitExponent(currency);
  const sign = amount < 0 ? '-' : '';
  const digits = Math.abs(amount).toString().padStart(exponent + 1, '0');
  const major = exponent === 0 ? digits : `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
  return `${sign}${major} ${currency}`;
}
