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
  markProcessing(paymentId: string, at: string): Promise<Payment>;
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
  /** When reconciliation handed it to an operator (no saga will move it; it is not restarted again). */
  handedOverAt?: string;
};

/** One page of open items, oldest first; `cursor` continues after it (absent on the last page). */
export interface OpenItemsPage {
  refs: OpenItemRef[];
  cursor?: string;
}

/**
 * Payments and refunds in the sparse open-items index, for reconciliation: refunds while pending, and
 * the payments an earlier version wrote into it (new payments are found through PaymentScan).
 */
export interface OpenItems {
  openItemRefs(entity: 'payment' | 'refund', createdBefore: string, pageSize: number, cursor?: string): Promise<OpenItemsPage>;
  /** When the oldest item of `entity` still open was created (ISO 8601), or undefined when none is open. */
  oldestOpenCreatedAt(entity: 'payment' | 'refund'): Promise<string | undefined>;
  readOpenItem(ref: OpenItemRef): Promise<OpenItem | undefined>;
  /** Counts one more restart of the item's saga (whatever its status: the saga may already have moved it); false when the item is gone. */
  countRestart(ref: OpenItemRef): Promise<boolean>;
  handToOperator(ref: OpenItemRef, seenStatus: string, at: string): Promise<boolean>;
}

/** A payment in its merchant's creation order. */
export interface ScannedPayment {
  paymentId: string;
  createdAt: string;
  /** Its place in the merchant's payments (opaque): a scan resumes after it. */
  position: string;
}

/** One page of a merchant's payments, oldest first; `cursor` continues the same scan (absent on the last page). */
export interface ScannedPaymentsPage {
  payments: ScannedPayment[];
  cursor?: string;
}

/** What reconciliation reads of a scanned payment to tell whether it still has to act on it. */
export interface ScannedPaymentState {
  status: string;
  /** Reconciliation handed it to an operator: no saga can move it, it is not examined again. */
  handedOver: boolean;
  /** Written by an earlier version into the open-items index: reconciled through OpenItems until it leaves it. */
  inOpenItems: boolean;
}

/** How far reconciliation has examined one merchant's payments. */
export interface PaymentScanCursor {
  merchantId: string;
  /** Every payment at or before this position has been examined (absent: none yet). */
  after?: string;
  /** Payments it found open and restarted (or found running): examined again on every run until they are terminal or handed over. */
  watching: string[];
  /** The stored version this cursor was read at (0: none stored); a save succeeds only over that version. */
  version: number;
}

/**
 * A merchant's payments in creation order, for reconciliation: the keys the API writes once per payment
 * (nothing per status change), and one cursor per merchant that reconciliation keeps.
 */
export interface PaymentScan {
  /** Every stored cursor (one per merchant reconciliation has scanned, listed or not any more). */
  paymentScanCursors(): Promise<PaymentScanCursor[]>;
  /** The position after which every payment created at or after `createdAt` lies: where a scan that reached `createdAt` resumes. */
  positionAt(createdAt: string): string;
  /** A page of the merchant's payments after `after` and created before `createdBefore`, oldest first. */
  merchantPayments(query: { merchantId: string; createdBefore: string; pageSize: number; after?: string; cursor?: string }): Promise<ScannedPaymentsPage>;
  /** The state of each payment, read together (eventually consistent: an open one is read again before acting); absent when missing. */
  scannedPaymentStates(paymentIds: readonly string[]): Promise<Map<string, ScannedPaymentState>>;
  /** Stores the cursor unless another run stored one since it was read (then false: that run's cursor stands). */
  savePaymentScanCursor(cursor: PaymentScanCursor): Promise<boolean>;
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
