import { isValidAmount, type Currency } from '#domain/money';
import { REFUNDABLE_PAYMENT_STATUSES, paymentPartitionKey, type Payment } from '#domain/payment';
import { nothingLeftToRefund, parameterInvalid, paymentNotRefundable, refundExceedsRefundable } from '#domain/errors';

/** A refund: pending until the refund saga either succeeds or releases the reserved amount (failed). */
export const REFUND_STATUSES = ['pending', 'succeeded', 'failed'] as const;
export type RefundStatus = (typeof REFUND_STATUSES)[number];

export const REFUND_TRANSITIONS: Readonly<Record<RefundStatus, readonly RefundStatus[]>> = {
  pending: ['succeeded', 'failed'],
  succeeded: [],
  failed: [],
};

export const REFUND_REASONS = ['requested_by_customer', 'duplicate', 'fraudulent'] as const;
export type RefundReason = (typeof REFUND_REASONS)[number];

export function canRefundTransition(from: RefundStatus, to: RefundStatus): boolean {
  return REFUND_TRANSITIONS[from].includes(to);
}

export interface Refund {
  id: string;
  paymentId: string;
  merchantId: string;
  amount: number;
  currency: Currency;
  status: RefundStatus;
  reason?: RefundReason;
  metadata?: Record<string, string>;
  failureCode?: string;
  createdAt: string;
  updatedAt: string;
}

export const REFUND_SK_PREFIX = 'REFUND#';
export const refundSortKey = (refundId: string) => `${REFUND_SK_PREFIX}${refundId}`;
export const refundKey = (paymentId: string, refundId: string) => ({ PK: paymentPartitionKey(paymentId), SK: refundSortKey(refundId) });

/** The Payments-table item of a refund (CONTRACT): it lives in its payment's partition. */
export interface RefundItem extends Refund {
  PK: string;
  SK: string;
  entity: 'refund';
  requestHash: string;
  /** Present ('refund') while pending; removed when it succeeds or fails. */
  openEntity?: 'refund';
}

export interface NewRefundInput {
  id: string;
  payment: Pick<Payment, 'id' | 'merchantId' | 'currency'>;
  amount: number;
  reason?: RefundReason;
  metadata?: Record<string, string>;
  requestHash: string;
  now: Date;
}

export function newRefundItem(input: NewRefundInput): RefundItem {
  const timestamp = input.now.toISOString();
  return {
    ...refundKey(input.payment.id, input.id),
    entity: 'refund',
    id: input.id,
    paymentId: input.payment.id,
    merchantId: input.payment.merchantId,
    amount: input.amount,
    currency: input.payment.currency,
    status: 'pending',
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    requestHash: input.requestHash,
    openEntity: 'refund',
    createdAt: timestamp,
    updatedAt: timestamp,
  };
}

export function isRefundable(payment: Pick<Payment, 'status'>): boolean {
  return REFUNDABLE_PAYMENT_STATUSES.includes(payment.status);
}

/**
 * The amount a refund request reserves: the requested amount, or everything still refundable when
 * none is given. Throws payment_not_refundable (409) or refund_exceeds_refundable (422).
 * This is the friendly pre-check; the reservation itself is a conditional decrement of
 * amountRefundable, which is what makes over-refunding impossible under concurrency.
 */
export function resolveRefundAmount(
  payment: Pick<Payment, 'status' | 'amountRefundable'>,
  requestedAmount: number | undefined,
): number {
  if (!isRefundable(payment)) throw paymentNotRefundable(payment.status);
  if (requestedAmount === undefined) {
    if (payment.amountRefundable <= 0) throw nothingLeftToRefund();
    return payment.amountRefundable;
  }
  if (!isValidAmount(requestedAmount)) throw parameterInvalid('amount', 'amount must be a positive integer number of minor units');
  if (requestedAmount > payment.amountRefundable) throw refundExceedsRefundable(requestedAmount, payment.amountRefundable);
  return requestedAmount;
}

export type RefundView = { object: 'refund' } & Omit<Refund, 'merchantId'>;

export function toRefundView(refund: Refund): RefundView {
  return {
    id: refund.id,
    object: 'refund',
    paymentId: refund.paymentId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    ...(refund.reason === undefined ? {} : { reason: refund.reason }),
    ...(refund.metadata === undefined ? {} : { metadata: refund.metadata }),
    ...(refund.failureCode === undefined ? {} : { failureCode: refund.failureCode }),
    createdAt: refund.createdAt,
    updatedAt: refund.updatedAt,
  };
}
