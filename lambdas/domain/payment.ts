import type { Currency } from '#domain/money';

/**
 * A payment and its life cycle (CONTRACT "Payments table" and "Statuses"):
 * pending → succeeded | failed; succeeded → partially_refunded → refunded.
 * Every status change is a conditional update on the current status, so it only moves forward.
 *
 * `processing` is no longer written: the saga used to set it first (one more write and one more billed
 * transition per payment). It stays a status so that an item an earlier version left in it still reads,
 * lists and moves on to succeeded or failed.
 */
export const PAYMENT_STATUSES = ['pending', 'processing', 'succeeded', 'failed', 'partially_refunded', 'refunded'] as const;
export type PaymentStatus = (typeof PAYMENT_STATUSES)[number];

/**
 * Allowed forward transitions. partially_refunded → partially_refunded is a further partial refund, not a
 * status change. Nothing moves a payment into processing any more; one already there still ends.
 */
export const PAYMENT_TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  pending: ['succeeded', 'failed'],
  processing: ['succeeded', 'failed'],
  succeeded: ['partially_refunded', 'refunded'],
  partially_refunded: ['partially_refunded', 'refunded'],
  failed: [],
  refunded: [],
};

/** Statuses in which the saga has nothing left to do (reconciliation leaves the payment alone). */
export const SAGA_TERMINAL_PAYMENT_STATUSES: readonly PaymentStatus[] = ['succeeded', 'failed', 'partially_refunded', 'refunded'];
/** Statuses a refund may be requested in. */
export const REFUNDABLE_PAYMENT_STATUSES: readonly PaymentStatus[] = ['succeeded', 'partially_refunded'];

export function isPaymentStatus(value: unknown): value is PaymentStatus {
  return typeof value === 'string' && (PAYMENT_STATUSES as readonly string[]).includes(value);
}

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return PAYMENT_TRANSITIONS[from].includes(to);
}

/** Statuses from which `to` may be reached: the condition of a conditional status update. */
export function statusesAllowedBefore(to: PaymentStatus): PaymentStatus[] {
  return PAYMENT_STATUSES.filter((from) => canTransition(from, to));
}

export function isSagaTerminal(status: PaymentStatus): boolean {
  return SAGA_TERMINAL_PAYMENT_STATUSES.includes(status);
}

/** A payment. Amounts are integer minor units. */
export interface Payment {
  id: string;
  merchantId: string;
  amount: number;
  currency: Currency;
  status: PaymentStatus;
  source: string;
  description?: string;
  metadata?: Record<string, string>;
  failureCode?: string;
  /** 0 until the ledger posting of the capture exists. */
  amountCaptured: number;
  /** Sum of succeeded refunds. */
  amountRefunded: number;
  /** amountCaptured minus every refund reserved (pending or succeeded). */
  amountRefundable: number;
  authorizationId?: string;
  /** Fingerprint of the request that created it: tells a retry (same) from a reused key (different). */
  requestHash: string;
  /**
   * The id of the API request that created it: an opaque correlation id, carried by its events and sagas
   * and logged by every function that handles it. Absent on payments created before it was stored.
   */
  requestId?: string;
  createdAt: string;
  updatedAt: string;
}

export interface NewPaymentInput {
  id: string;
  merchantId: string;
  amount: number;
  currency: Currency;
  source: string;
  description?: string;
  metadata?: Record<string, string>;
  requestHash: string;
  requestId?: string;
  now: Date;
}

/** A payment as a create-payment request makes it: pending, nothing captured yet. */
export function newPayment(input: NewPaymentInput): Payment {
  const timestamp = input.now.toISOString();
  return {
    id: input.id,
    merchantId: input.merchantId,
    amount: input.amount,
    currency: input.currency,
    status: 'pending',
    source: input.source,
    ...(input.description === undefined ? {} : { description: input.description }),
    ...(input.metadata === undefined ? {} : { metadata: input.metadata }),
    amountCaptured: 0,
    amountRefunded: 0,
    amountRefundable: 0,
    requestHash: input.requestHash,
    ...(input.requestId === undefined ? {} : { requestId: input.requestId }),
    createdAt: timestamp,
    updatedAt: timestamp,
  };
}

/** Status of a payment once `amountRefunded` of its `amountCaptured` has been refunded. */
export function statusAfterRefund(amountCaptured: number, amountRefunded: number): 'partially_refunded' | 'refunded' {
  return amountRefunded >= amountCaptured ? 'refunded' : 'partially_refunded';
}
