/**
 * The Payments table's item shapes and keys (single table): the only place that knows them.
 *
 * | PK | SK | item |
 * | `PAYMENT#<id>` | `PAYMENT` | a payment |
 * | `PAYMENT#<id>` | `REFUND#<refundId>` | a refund of it |
 * | `PAYMENT#<id>` | `POSTING#capture`, `POSTING#refund#<refundId>` | its balanced ledger postings |
 *
 * `openEntity` ('refund') is present while a refund's saga has work on it: it is the partition key of the
 * sparse `open-items` index that reconciliation reads for refunds. Payments are no longer written into it
 * (two index writes per payment, all in one index partition); reconciliation finds them through their
 * merchant's `lookup` entries instead, and payments an earlier version wrote with `openEntity = 'payment'`
 * leave the index as before (their terminal write or the hand-over REMOVEs it). `reconcileRestarts` counts
 * the times reconciliation (re)started an item's saga. A capture posting carries `postedDay` (its UTC day): the
 * partition key of the sparse `capture-postings-by-day` index that the daily reconciliation reads.
 *
 * `lookupPK` / `lookupSK` are the keys of the sparse, keys-only `lookup` index (set once, when the item
 * is created, and never changed, so status updates write nothing to it):
 *
 * | item | lookupPK | lookupSK | for |
 * | payment | `MERCHANT#<merchantId>#PAYMENTS` | `<createdAt>#<id>` | a merchant's payments, newest first; reconciliation reads them oldest first |
 * | refund | `REFUND#<refundId>` | `REFUND` | a refund by its id alone |
 *
 * Reconciliation keeps one small item per merchant (written at most once per run, never per payment):
 *
 * | PK | SK | item |
 * | `RECONCILIATION#PAYMENTS` | `MERCHANT#<merchantId>` | how far it has examined the merchant's payments, and the ones it still watches |
 */
import type { Posting } from '#domain/ledger';
import type { Payment } from '#domain/payment';
import type { Refund } from '#domain/refund';
import type { PaymentScanCursor } from '#ports/payments-store';

export const PAYMENT_SK = 'PAYMENT';
export const CAPTURE_POSTING_SK = 'POSTING#capture';
export const OPEN_ITEMS_INDEX = 'open-items';
export const LOOKUP_INDEX = 'lookup';
export const REFUND_SK_PREFIX = 'REFUND#';
export const CAPTURE_POSTINGS_BY_DAY_INDEX = 'capture-postings-by-day';
/** The partition of reconciliation's per-merchant scan cursors (its function may write only there). */
export const PAYMENT_SCAN_CURSORS_PK = 'RECONCILIATION#PAYMENTS';
export const paymentScanCursorKey = (merchantId: string) => ({ PK: PAYMENT_SCAN_CURSORS_PK, SK: `MERCHANT#${merchantId}` });
/** Every attribute a cursor item has: reconciliation's grant allows putting these alone (lib/constructs/reconciliation.ts, checked by test/cdk/outbox.test.ts). */
export const PAYMENT_SCAN_CURSOR_ATTRIBUTES = ['PK', 'SK', 'entity', 'merchantId', 'after', 'watching', 'version'] as const;
type PaymentScanCursorItem = { readonly [attribute in (typeof PAYMENT_SCAN_CURSOR_ATTRIBUTES)[number]]?: unknown };

/** The cursor as stored over the version `cursor` was read at. */
export function paymentScanCursorItem({ merchantId, after, watching, version }: PaymentScanCursor): PaymentScanCursorItem {
  return { ...paymentScanCursorKey(merchantId), entity: 'payment-scan-cursor', merchantId, ...(after !== undefined ? { after } : {}), watching, version: version + 1 };
}

export const paymentPartitionKey = (paymentId: string) => `PAYMENT#${paymentId}`;
export const paymentKey = (paymentId: string) => ({ PK: paymentPartitionKey(paymentId), SK: PAYMENT_SK });
/** The payment id of an item's partition key (`PAYMENT#<id>`). */
export const paymentIdOfKey = (partitionKey: unknown) => String(partitionKey).slice('PAYMENT#'.length);
export const refundKey = (paymentId: string, refundId: string) => ({ PK: paymentPartitionKey(paymentId), SK: `${REFUND_SK_PREFIX}${refundId}` });
export const refundPostingSortKey = (refundId: string) => `POSTING#refund#${refundId}`;

export interface ItemKey {
  PK: string;
  SK: string;
}

export interface LookupKey {
  lookupPK: string;
  lookupSK: string;
}

export const merchantPaymentsPartition = (merchantId: string) => `MERCHANT#${merchantId}#PAYMENTS`;
/** A payment's place in its merchant's list: newest first is descending order of this key. */
export const merchantPaymentsLookupKey = (payment: Pick<Payment, 'id' | 'merchantId' | 'createdAt'>): LookupKey => ({
  lookupPK: merchantPaymentsPartition(payment.merchantId),
  lookupSK: `${payment.createdAt}#${payment.id}`,
});
export const refundLookupKey = (refundId: string): LookupKey => ({ lookupPK: `REFUND#${refundId}`, lookupSK: 'REFUND' });

/** Attributes that exist only for storage: never part of a payment, a refund or an event. */
const STORAGE_ATTRIBUTES = ['PK', 'SK', 'entity', 'openEntity', 'reconciliationFlaggedAt', 'reconcileRestarts', 'lookupPK', 'lookupSK', 'postedDay'] as const;

export interface PaymentItem extends Payment, LookupKey {
  PK: string;
  SK: string;
  entity: 'payment';
  /** Written by earlier versions only (the open-items index); removed on a terminal status or a hand-over. */
  openEntity?: 'payment';
}

export interface RefundItem extends Refund, LookupKey {
  PK: string;
  SK: string;
  entity: 'refund';
  /** Present ('refund') while pending; removed when it succeeds or fails. */
  openEntity?: 'refund';
}

export interface PostingItem extends Posting {
  PK: string;
  SK: string;
  entity: 'posting';
  createdAt: string;
  /** On the capture posting only: its UTC day, and the processor's authorization it captured (when known). */
  postedDay?: string;
  authorizationId?: string;
}

/** The item a new payment is written as: in its merchant's `lookup` partition, which reconciliation reads too (no open-items entry). */
export function paymentItem(payment: Payment): PaymentItem {
  return { ...paymentKey(payment.id), ...merchantPaymentsLookupKey(payment), entity: 'payment', ...payment };
}

export function refundItem(refund: Refund): RefundItem {
  return { ...refundKey(refund.paymentId, refund.id), ...refundLookupKey(refund.id), entity: 'refund', ...refund, ...(refund.status === 'pending' ? { openEntity: 'refund' as const } : {}) };
}

export function postingItem(posting: Posting, sortKey: string, createdAt: string): PostingItem {
  return { ...posting, PK: paymentPartitionKey(posting.paymentId), SK: sortKey, entity: 'posting', createdAt };
}

/** The capture's posting, in the daily reconciliation's index under the day it was posted. */
export function capturePostingItem(posting: Posting, postedAt: string, authorizationId?: string): PostingItem {
  return { ...postingItem(posting, CAPTURE_POSTING_SK, postedAt), postedDay: postedAt.slice(0, 10), ...(authorizationId ? { authorizationId } : {}) };
}

/** A stored item without its storage attributes. */
export function withoutStorageAttributes<T>(item: Record<string, unknown>): T {
  const copy = { ...item };
  for (const attribute of STORAGE_ATTRIBUTES) delete copy[attribute];
  return copy as T;
}

/** The entity a stored item is, read from its `entity` attribute. */
export function entityOf(item: Record<string, unknown> | undefined): 'payment' | 'refund' | 'posting' | undefined {
  const entity = item?.entity;
  return entity === 'payment' || entity === 'refund' || entity === 'posting' ? entity : undefined;
}
