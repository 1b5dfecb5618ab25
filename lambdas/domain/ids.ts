import { createHash } from 'node:crypto';

/** First 24 hex chars of sha256 over NUL-separated parts. */
function shortHash(parts: readonly string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex').slice(0, 24);
}

/**
 * A payment's id is derived from (merchant, idempotency key), so a retry that arrives after the
 * idempotency record expired still addresses the same payment and cannot create a second one.
 */
export function paymentIdFor(merchantId: string, idempotencyKey: string): string {
  return `pay_${shortHash(['payment', merchantId, idempotencyKey])}`;
}

export function refundIdFor(merchantId: string, paymentId: string, idempotencyKey: string): string {
  return `re_${shortHash(['refund', merchantId, paymentId, idempotencyKey])}`;
}

export const PAYMENT_ID_PATTERN = /^pay_[0-9a-f]{24}$/;
export const REFUND_ID_PATTERN = /^re_[0-9a-f]{24}$/;

export const isPaymentId = (value: string): boolean => PAYMENT_ID_PATTERN.test(value);
export const isRefundId = (value: string): boolean => REFUND_ID_PATTERN.test(value);

/** Step Functions execution names: starting an execution with the same name is idempotent. */
export const paymentExecutionName = (paymentId: string) => `payment-${paymentId}`;
export const refundExecutionName = (refundId: string) => `refund-${refundId}`;

/** Canonical JSON: object keys sorted recursively, no whitespace; arrays keep their order. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value).sort().map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

/** sha256 (hex) of the canonical JSON of a normalized request body: the stored `requestHash`. */
export function requestHash(normalizedBody: unknown): string {
  return createHash('sha256').update(canonicalJson(normalizedBody)).digest('hex');
}
