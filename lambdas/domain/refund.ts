import { isValidAmount, type Currency } from '#domain/money';
import { REFUNDABLE_PAYMENT_STATUSES, type Payment } from '#domain/payment';

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

/** Statuses from which `to` may be reached: the condition of a conditional status update. */
export function refundStatusesAllowedBefore(to: RefundStatus): RefundStatus[] {
  return REFUND_STATUSES.filter((from) => canRefundTransition(from, to));
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
  /** Fingerprint of the request that created it: tells a retry (same) from a reused key (different). */
  requestHash: string;
  /** The id of the API request that created it (opaque correlation id); absent on refunds created before it was stored. */
  requestId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewRefundInput {
  id: string;
  payment: Pick<Payment, 'id' | 'merchantId' | 'currency'>;
  amount: number;
  reason?: RefundReason;
  metadata?: Record<string, string>;
  requestHash: string;
  requestId?: string;
  now: Date;
}

/** A refund as a create-refund request makes it: pending, its amount reserved on the payment. */
export function newRefund(input: NewRefundInput): Refund {
  const timestamp = input.now.toISOString();
  return {
    id: input.id,
    paymentId: input.payment.id,
    merchantId: input.payment.merchantId,
    amount: input.amount,
    currency: input.payment.currency,
    status: 'pending',
    ...(input.reason === undefined ? {} : { reason: input.reason }),
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    requestHash: input.requestHash,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    createdAt: timestamp,
    updatedAt: timestamp,
  };
}

export function isRefundable(payment: Pick<Payment, 'status'>): boolean {
  return REFUNDABLE_PAYMENT_STATUSES.includes(payment.status);
}

/** Why a refund cannot be made on a payment as it is now. */
export class RefundRefused extends Error {
  override readonly name = 'RefundRefused';
  constructor(
    readonly reason: 'payment_not_refundable' | 'nothing_left_to_refund' | 'exceeds_refundable' | 'invalid_amount',
    readonly payment: Pick<Payment, 'status' | 'amountRefundable'>,
    readonly requestedAmount?: number,
  ) {
    super(`Refund refused: ${reason}`);
  }
}

/**
 * The amount a refund request reserves: the requested amount, or everything still refundable when
 * none is given. Throws RefundRefused.
 * This is the friendly pre-check; the reservation itself is a conditional decrement of
 * amountRefundable, which is what makes over-refunding impossible under concurrency.
 */
export function resolveRefundAmount(
  payment: Pick<Payment, 'status' | 'amountRefundable'>,
  requestedAmount: number | undefined,
): number {
  if (!isRefundable(payment)) throw new RefundRefused('payment_not_refundable', payment);
  if (requestedAmount === undefined) {
    if (payment.amountRefundable <= 0) throw new RefundRefused('nothing_left_to_refund', payment);
    return payment.amountRefundable;
  }
  if (!isValidAmount(requestedAmount)) throw new RefundRefused('invalid_amount', payment, requestedAmount);
  if (requestedAmount > payment.amountRefundable) throw new RefundRefused('exceeds_refundable', payment, requestedAmount);
  return requestedAmount;
}
