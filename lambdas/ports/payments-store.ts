/**
 * What the use cases need from the store of payments, refunds and ledger postings. One adapter
 * (adapters/dynamodb/payments-table.ts) implements all three views of it.
 *
 * Error names are string literals equal to the class name: the sagas' Retry and Catch match on them,
 * and minified bundles rename classes.
 */
import type { Currency } from '#domain/money';
import type { Payment, PaymentStatus } from '#domain/payment';
import type { Refund } from '#domain/refund';
import type { LedgerCapture, PaymentView } from '#domain/daily-reconciliation';
import type { Page as TokenPage } from '#ports/processor';

export type CreatePaymentResult =
  | { created: true; payment: Payment }
  | { created: false; existing: Payment };

export type ReserveRefundResult =
  | { outcome: 'reserved'; refund: Refund }
  /** A refund with this id exists already (a retry, or a reused key). */
  | { outcome: 'refund_exists'; existing: Refund }
  /** The payment's condition failed: it is gone, not refundable, or has less refundable than asked. `payment` is its current state. */
  | { outcome: 'payment_conflict'; payment: Payment | undefined }
  /** Concurrent transactions on the payment kept winning for every attempt: nothing was written. */
  | { outcome: 'busy' };

/** The API's needs: every write is conditional; nothing is read-then-written. */
export interface PaymentsStore {
  createPayment(payment: Payment): Promise<CreatePaymentResult>;
  getPayment(paymentId: string): Promise<Payment | undefined>;
  getRefund(paymentId: string, refundId: string): Promise<Refund | undefined>;
  reserveRefund(refund: Refund): Promise<ReserveRefundResult>;
}

/** One page of a list, newest first: `hasMore` when more items follow the last one. */
export interface Page<T> {
  items: T[];
  hasMore: boolean;
}

/**
 * Lists for the API. A page after `after` starts right after that item in the list's order, so items
 * created meanwhile (they sort before it) are neither skipped nor repeated by later pages.
 */
export interface PaymentLists {
  /** A merchant's payments, newest first (`status`: only those in it). */
  listPayments(query: { merchantId: string; limit: number; after?: Payment; status?: PaymentStatus }): Promise<Page<Payment>>;
  /** A payment's refunds, newest first. */
  listRefunds(query: { paymentId: string; limit: number; after?: Refund }): Promise<Page<Refund>>;
  /** A refund by its id alone (whatever merchant it belongs to: the use case checks). */
  findRefund(refundId: string): Promise<Refund | undefined>;
}

/** The sagas' status transitions and ledger postings: each idempotent, a repeat after success is a no-op. */
export interface SagaLedger {
  /** The payment as it is now (a consistent read); PaymentNotFound when there is none. */
  loadPayment(paymentId: string): Promise<Payment>;
  postCaptureLedger(input: { paymentId: string; merchantId: string; amount: number; currency: Currency; authorizationId?: string; postedAt: string }): Promise<'posted' | 'already_posted'>;
  markFailed(input: { paymentId: string; failureCode: string; at: string }): Promise<Payment>;
  loadRefund(paymentId: string, refundId: string): Promise<Refund>;
  postRefundLedger(input: { paymentId: string; refundId: string; postedAt: string }): Promise<'posted' | 'already_posted'>;
  releaseRefund(input: { paymentId: string; refundId: string; failureCode: string; at: string }): Promise<'released' | 'already_released'>;
}

export type OpenItemRef = { entity: 'payment'; paymentId: string } | { entity: 'refund'; paymentId: string; refundId: string };
export type OpenItem = (({ entity: 'payment' } & Payment) | ({ entity: 'refund' } & Refund)) & {
  /** How often reconciliation has (re)started its saga so far. */
  reconcileRestarts: number;
};

/** One page of open items, oldest first; `cursor` continues after it (absent on the last page). */
export interface OpenItemsPage {
  refs: OpenItemRef[];
  cursor?: string;
}

/** Payments and refunds a saga still has work on, for reconciliation. */
export interface OpenItems {
  openItemRefs(entity: 'payment' | 'refund', createdBefore: string, pageSize: number, cursor?: string): Promise<OpenItemsPage>;
  /** When the oldest item of `entity` still open was created (ISO 8601), or undefined when none is open. */
  oldestOpenCreatedAt(entity: 'payment' | 'refund'): Promise<string | undefined>;
  readOpenItem(ref: OpenItemRef): Promise<OpenItem | undefined>;
  /** Counts one more restart of the item's saga (whatever its status: the saga may already have moved it); false when the item is gone. */
  countRestart(ref: OpenItemRef): Promise<boolean>;
  handToOperator(ref: OpenItemRef, seenStatus: string, at: string): Promise<boolean>;
}

/** The ledger's captures, for the daily reconciliation against the processor's records. */
export interface CaptureLedger {
  /** The capture postings of a UTC day (`YYYY-MM-DD`), a page at a time. */
  capturePostingsOfDay(day: string, pageToken?: string): Promise<TokenPage<LedgerCapture>>;
  /** Each payment and its capture posting, when they exist. */
  captureLedgerOf(paymentIds: readonly string[]): Promise<Map<string, { payment?: PaymentView & { authorizationId?: string }; posting?: LedgerCapture }>>;
}

export class PaymentNotFound extends Error {
  override readonly name = 'PaymentNotFound';
}

export class RefundNotFound extends Error {
  override readonly name = 'RefundNotFound';
}

/** The item is in a state the transition cannot start from (and it is not the transition's own result). Permanent. */
export class PaymentStateConflict extends Error {
  override readonly name = 'PaymentStateConflict';
}

/**
 * The store answered that it did not apply the write, with a client error that retrying cannot fix
 * (a missing table, a validation error, access denied): certain and permanent.
 */
export class WriteRefused extends Error {
  override readonly name = 'WriteRefused';
}

/** Another transaction held the item: transient, retry. */
export class TransactionConflict extends Error {
  override readonly name = 'TransactionConflict';
}
