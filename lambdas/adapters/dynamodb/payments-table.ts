/**
 * The Payments table: the one adapter that knows its keys, item shapes and condition expressions
 * (payments-items.ts). Every status change is a conditional update whose condition is built from the
 * domain's transition tables, so a status only moves forward and the tables the tests check are the
 * ones production uses. Every operation is idempotent: repeating one that already took effect is a
 * successful no-op.
 */
import { ConditionalCheckFailedException, DynamoDBServiceException, TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
// lib-dynamodb does not unmarshall the old item that a failed condition returns (ALL_OLD); its own
// dependency does. Resolved through lib-dynamodb's dependency tree (package-lock pins it).
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { jitteredBackoff } from '#commons/backoff';
import { documentClient } from '#commons/dynamodb';
import { setting } from '#commons/environment';
import { capturePosting, capturedAmount, refundPosting } from '#domain/ledger';
import type { LedgerCapture, PaymentView } from '#domain/daily-reconciliation';
import type { Currency } from '#domain/money';
import { REFUNDABLE_PAYMENT_STATUSES, statusAfterRefund, statusesAllowedBefore, type Payment, type PaymentStatus } from '#domain/payment';
import { refundStatusesAllowedBefore, type Refund, type RefundStatus } from '#domain/refund';
import {
  PaymentNotFound,
  PaymentStateConflict,
  RefundNotFound,
  TransactionConflict,
  WriteRefused,
  type CreatePaymentResult,
  type OpenItem,
  type OpenItemRef,
  type Page,
  type PaymentLists,
  type OpenItemsPage,
  type PaymentsStore,
  type ReserveRefundResult,
  type SagaLedger,
  type OpenItems,
  type CaptureLedger,
  type PaymentScan,
  type PaymentScanCursor,
  type ScannedPaymentState,
  type ScannedPaymentsPage,
} from '#ports/payments-store';
import type { Page as TokenPage } from '#ports/processor';
import {
  CAPTURE_POSTING_SK,
  CAPTURE_POSTINGS_BY_DAY_INDEX,
  LOOKUP_INDEX,
  OPEN_ITEMS_INDEX,
  PAYMENT_SCAN_CURSORS_PK,
  REFUND_SK_PREFIX,
  capturePostingItem,
  merchantPaymentsLookupKey,
  merchantPaymentsPartition,
  paymentPartitionKey,
  refundLookupKey,
  entityOf,
  paymentItem,
  paymentIdOfKey,
  paymentKey,
  paymentScanCursorItem,
  postingItem,
  refundItem,
  refundKey,
  refundPostingSortKey,
  withoutStorageAttributes,
  type ItemKey,
  type PaymentItem,
  type PostingItem,
  type RefundItem,
} from './payments-items.ts';

/** Reservations that keep colliding with concurrent transactions: attempts before answering busy. */
const MAX_RESERVATION_CONFLICT_ATTEMPTS = 8;
/** Writes that other refunds of the same payment contend with: attempts in one call, then TransactionConflict. */
const CONTENDED_WRITE_ATTEMPTS = 8;
const CONTENTION_BACKOFF = { baseMs: 20, capMs: 1_000 };

/** `#status IN (:<name>0, ...)` for the statuses a transition may start from, with its values. */
function statusCondition(name: string, allowed: readonly string[]): { expression: string; values: Record<string, string> } {
  const values = Object.fromEntries(allowed.map((status, index) => [`:${name}${index}`, status]));
  return { expression: `#status IN (${Object.keys(values).join(', ')})`, values };
}

const toPaymentCondition = (to: PaymentStatus) => statusCondition(`from_${to}_`, statusesAllowedBefore(to));
const toRefundCondition = (to: RefundStatus) => statusCondition(`refund_from_${to}_`, refundStatusesAllowedBefore(to));

/** Keys read per lookup-index query when a status filter may drop most of them. */
const FILTERED_LIST_QUERY_LIMIT = 100;
/** A query's LastEvaluatedKey as an opaque page token, and back. */
const pageTokenOf = (key: Record<string, unknown>) => Buffer.from(JSON.stringify(key)).toString('base64url');
const pageKeyOf = (token: string) => JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as Record<string, unknown>;

/** BatchGetItem's limit of keys per call. */
const BATCH_GET_LIMIT = 100;

export class PaymentsTable implements PaymentsStore, PaymentLists, SagaLedger, OpenItems, PaymentScan, CaptureLedger {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  // --- The API -----------------------------------------------------------------------------------

  /**
   * Puts a new payment unless one with its id exists. The id derives from (merchant, idempotency
   * key), so a conflict is a retry of the same request or a reuse of the key: the stored item comes
   * back with the failed condition (ALL_OLD) in the same call.
   */
  async createPayment(payment: Payment): Promise<CreatePaymentResult> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: paymentItem(payment),
        ConditionExpression: 'attribute_not_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return { created: true, payment };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const existing = error.Item ? fromAttributes<Payment>(error.Item) : await this.getPayment(payment.id);
        if (existing) return { created: false, existing };
      }
      throw error;
    }
  }

  async getPayment(paymentId: string): Promise<Payment | undefined> {
    const item = await this.get<PaymentItem>(paymentKey(paymentId));
    return item && withoutStorageAttributes<Payment>(item as unknown as Record<string, unknown>);
  }

  async getRefund(paymentId: string, refundId: string): Promise<Refund | undefined> {
    const item = await this.get<RefundItem>(refundKey(paymentId, refundId));
    return item && withoutStorageAttributes<Refund>(item as unknown as Record<string, unknown>);
  }

  /**
   * Reserves a refund in one transaction: decrements the payment's amountRefundable on the
   * condition that the payment belongs to the merchant, is refundable and has at least the amount
   * left, and puts the pending refund item unless it exists. Concurrent refunds therefore can never
   * reserve more than was captured. Transaction conflicts with concurrent writers are retried with
   * jittered backoff, a bounded number of times.
   */
  async reserveRefund(refund: Refund): Promise<ReserveRefundResult> {
    const refundable = statusCondition('refundable', REFUNDABLE_PAYMENT_STATUSES);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: paymentKey(refund.paymentId),
                UpdateExpression: 'SET amountRefundable = amountRefundable - :amount, updatedAt = :now',
                ConditionExpression: `merchantId = :merchantId AND ${refundable.expression} AND amountRefundable >= :amount`,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':amount': refund.amount, ':now': refund.createdAt, ':merchantId': refund.merchantId, ...refundable.values },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: refundItem(refund),
                ConditionExpression: 'attribute_not_exists(PK)',
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
          ],
        }));
        return { outcome: 'reserved', refund };
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [paymentReason, refundReason] = error.CancellationReasons ?? [];
        if (refundReason?.Code === 'ConditionalCheckFailed') {
          const existing = refundReason.Item ? fromAttributes<Refund>(refundReason.Item) : await this.getRefund(refund.paymentId, refund.id);
          if (existing) return { outcome: 'refund_exists', existing };
        }
        if (paymentReason?.Code === 'ConditionalCheckFailed') {
          const payment = paymentReason.Item ? fromAttributes<Payment>(paymentReason.Item) : await this.getPayment(refund.paymentId);
          return { outcome: 'payment_conflict', payment };
        }
        const conflicting = [paymentReason, refundReason].some((reason) => reason?.Code === 'TransactionConflict');
        if (!conflicting) throw error;
        if (attempt >= MAX_RESERVATION_CONFLICT_ATTEMPTS) return { outcome: 'busy' };
        await jitteredBackoff(attempt);
      }
    }
  }

  // --- The lists ---------------------------------------------------------------------------------

  /**
   * A merchant's payments from the keys-only `lookup` index (newest first), each then read from the
   * table in one BatchGetItem per page. With a status filter the index is read on until the page is full
   * or the merchant's payments end.
   */
  async listPayments({ merchantId, limit, after, status }: { merchantId: string; limit: number; after?: Payment; status?: PaymentStatus }): Promise<Page<Payment>> {
    const wanted = limit + 1;
    const found: Payment[] = [];
    let startKey: Record<string, unknown> | undefined = after ? { ...paymentKey(after.id), ...merchantPaymentsLookupKey(after) } : undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        IndexName: LOOKUP_INDEX,
        KeyConditionExpression: 'lookupPK = :merchant',
        ExpressionAttributeValues: { ':merchant': merchantPaymentsPartition(merchantId) },
        ScanIndexForward: false,
        Limit: status ? FILTERED_LIST_QUERY_LIMIT : wanted - found.length,
        ExclusiveStartKey: startKey,
      }));
      const payments = await this.batchGet<Payment>(Items.map((item) => ({ PK: String(item.PK), SK: String(item.SK) })));
      for (const payment of payments) {
        if (found.length < wanted && (!status || payment.status === status)) found.push(payment);
      }
      startKey = LastEvaluatedKey;
    } while (found.length < wanted && startKey);
    return { items: found.slice(0, limit), hasMore: found.length > limit };
  }

  /**
   * A payment's refunds, newest first: one strongly consistent query of its partition (a payment has
   * few refunds), ordered by creation time and id, so a page after a refund is the same whatever came since.
   */
  async listRefunds({ paymentId, limit, after }: { paymentId: string; limit: number; after?: Refund }): Promise<Page<Refund>> {
    const refunds: Refund[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :refunds)',
        ExpressionAttributeValues: { ':pk': paymentKey(paymentId).PK, ':refunds': REFUND_SK_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      refunds.push(...Items.map((item) => withoutStorageAttributes<Refund>(item)));
      startKey = LastEvaluatedKey;
    } while (startKey);
    const position = (refund: Refund) => `${refund.createdAt}#${refund.id}`;
    const newestFirst = (a: Refund, b: Refund) => (position(a) === position(b) ? 0 : position(a) > position(b) ? -1 : 1);
    const ordered = refunds.sort(newestFirst).filter((refund) => !after || newestFirst(after, refund) < 0);
    return { items: ordered.slice(0, limit), hasMore: ordered.length > limit };
  }

  /** The refund's key from the `lookup` index (eventually consistent), then the item itself. */
  async findRefund(refundId: string): Promise<Refund | undefined> {
    const { lookupPK } = refundLookupKey(refundId);
    const { Items = [] } = await this.client.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: LOOKUP_INDEX,
      KeyConditionExpression: 'lookupPK = :refund',
      ExpressionAttributeValues: { ':refund': lookupPK },
      Limit: 1,
    }));
    const key = Items[0];
    if (!key) return undefined;
    const item = await this.get<RefundItem>({ PK: String(key.PK), SK: String(key.SK) });
    return item && withoutStorageAttributes<Refund>(item as unknown as Record<string, unknown>);
  }

  /** The items of `keys`, in that order (eventually consistent reads; unprocessed keys retried with backoff). */
  private async batchGet<T>(keys: readonly ItemKey[]): Promise<T[]> {
    const byKey = new Map<string, Record<string, unknown>>();
    for (const item of await this.batchGetItems(keys)) byKey.set(`${String(item.PK)}\u0000${String(item.SK)}`, item);
    return keys.flatMap((key) => {
      const item = byKey.get(`${key.PK}\u0000${key.SK}`);
      return item ? [withoutStorageAttributes<T>(item)] : [];
    });
  }

  // --- The sagas ---------------------------------------------------------------------------------

  async loadPayment(paymentId: string): Promise<Payment> {
    const payment = await this.getPayment(paymentId);
    if (!payment) throw new PaymentNotFound(`Payment ${paymentId} does not exist`);
    return payment;
  }

  /**
   * One transaction: the balanced capture posting and pending → succeeded (or processing → succeeded, for an
   * item an earlier version moved there) with the captured and refundable amounts. ClientRequestToken
   * `<paymentId>:ledger` makes a retried request a replay; a repeat after success (posting present,
   * payment settled) is a no-op.
   */
  async postCaptureLedger(input: { paymentId: string; merchantId: string; amount: number; currency: Currency; authorizationId?: string; postedAt: string }): Promise<'posted' | 'already_posted'> {
    const item = capturePostingItem(capturePosting(input), input.postedAt, input.authorizationId);
    const from = toPaymentCondition('succeeded');
    try {
      await this.client.send(new TransactWriteCommand({
        ClientRequestToken: `${input.paymentId}:ledger`,
        TransactItems: [
          { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
          {
            Update: {
              TableName: this.tableName,
              Key: paymentKey(input.paymentId),
              UpdateExpression:
                'SET #status = :succeeded, amountCaptured = :amount, amountRefundable = :amount, updatedAt = :at' +
                (input.authorizationId ? ', authorizationId = :authorizationId' : '') +
                ' REMOVE openEntity',
              ConditionExpression: `${from.expression} AND amount = :amount`,
              ExpressionAttributeNames: { '#status': 'status' },
              ExpressionAttributeValues: {
                ':succeeded': 'succeeded',
                ':amount': input.amount,
                ':at': input.postedAt,
                ...from.values,
                ...(input.authorizationId ? { ':authorizationId': input.authorizationId } : {}),
              },
            },
          },
        ],
      }));
      return 'posted';
    } catch (error) {
      if (isDefinitiveRefusal(error)) throw new WriteRefused(`The capture posting of ${input.paymentId} was refused: ${error.name}: ${error.message}`);
      // Anything else (a timeout, a lost response, throttling past the SDK's retries) may hide a
      // committed transaction: the state machine retries this idempotent call to find out.
      if (!isTransactionRejection(error)) throw error;
      const [payment, existing] = await Promise.all([this.getPayment(input.paymentId), this.get<PostingItem>({ PK: item.PK, SK: item.SK })]);
      if (existing && payment && REFUNDABLE_PAYMENT_STATUSES.concat('refunded').includes(payment.status)) return 'already_posted';
      if (isTransientConflict(error)) throw new TransactionConflict(`Ledger posting of ${input.paymentId} collided with another transaction`);
      throw new PaymentStateConflict(`Cannot post the capture of ${input.paymentId}: payment is ${payment?.status ?? 'missing'}, posting ${existing ? 'exists' : 'absent'}`);
    }
  }

  /** pending (or an earlier version's processing) → failed with a failure code. Already failed is a no-op; any other status is a conflict. */
  async markFailed(input: { paymentId: string; failureCode: string; at: string }): Promise<Payment> {
    const from = toPaymentCondition('failed');
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: paymentKey(input.paymentId),
        UpdateExpression: 'SET #status = :failed, failureCode = :failureCode, updatedAt = :at REMOVE openEntity',
        ConditionExpression: from.expression,
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':failed': 'failed', ':failureCode': input.failureCode, ':at': input.at, ...from.values },
        ReturnValues: 'ALL_NEW',
      }));
      return withoutStorageAttributes<Payment>(Attributes!);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const payment = await this.getPayment(input.paymentId);
      if (payment?.status === 'failed') return payment;
      throw new PaymentStateConflict(`Cannot mark ${input.paymentId} failed: it is ${payment?.status ?? 'missing'}`);
    }
  }

  async loadRefund(paymentId: string, refundId: string): Promise<Refund> {
    const refund = await this.getRefund(paymentId, refundId);
    if (!refund) throw new RefundNotFound(`Refund ${refundId} of ${paymentId} does not exist`);
    return refund;
  }

  /**
   * One transaction: the refund posting, refund pending → succeeded, and the payment's refunded
   * total and status. A repeat after success is a no-op.
   *
   * The payment's update adds to amountRefunded instead of writing a total read before, so
   * concurrent refunds of one payment do not invalidate each other: the reservation already made
   * sure that every refund fits into the capture. Its condition only tells the last refund (the one
   * that brings the total to the capture: `refunded`) from the others (`partially_refunded`); a
   * stale read picks the wrong one, and the re-read after the rejection picks the right one. Lost
   * races (a wrong pick, DynamoDB's TransactionConflict) are retried with jittered backoff and, past
   * this call's attempts, surface as TransactionConflict for the state machine to retry; a refund or
   * payment in a state that can never be posted is a PaymentStateConflict.
   */
  async postRefundLedger(input: { paymentId: string; refundId: string; postedAt: string }): Promise<'posted' | 'already_posted'> {
    for (let attempt = 1; ; attempt++) {
      const [payment, refund] = await Promise.all([this.getPayment(input.paymentId), this.getRefund(input.paymentId, input.refundId)]);
      if (!payment) throw new PaymentNotFound(`Payment ${input.paymentId} does not exist`);
      if (!refund) throw new RefundNotFound(`Refund ${input.refundId} of ${input.paymentId} does not exist`);
      if (refund.status === 'succeeded') return 'already_posted';
      if (refund.status !== 'pending') throw new PaymentStateConflict(`Refund ${input.refundId} is ${refund.status}, cannot post it`);
      if (!REFUNDABLE_PAYMENT_STATUSES.includes(payment.status)) throw new PaymentStateConflict(`Payment ${payment.id} is ${payment.status}, cannot post refund ${refund.id}`);
      const refundedBefore = payment.amountCaptured - refund.amount;
      if (payment.amountRefunded > refundedBefore) {
        throw new PaymentStateConflict(`Refund ${input.refundId} would refund ${payment.amountRefunded + refund.amount} of ${payment.amountCaptured} captured`);
      }
      const status = statusAfterRefund(payment.amountCaptured, payment.amountRefunded + refund.amount);
      const paymentFrom = toPaymentCondition(status);
      const refundFrom = toRefundCondition('succeeded');
      const posting = refundPosting({ paymentId: payment.id, merchantId: payment.merchantId, currency: payment.currency, amount: refund.amount, refundId: refund.id });
      try {
        await this.client.send(new TransactWriteCommand({
          TransactItems: [
            { Put: { TableName: this.tableName, Item: postingItem(posting, refundPostingSortKey(refund.id), input.postedAt), ConditionExpression: 'attribute_not_exists(PK)' } },
            {
              Update: {
                TableName: this.tableName,
                Key: refundKey(payment.id, refund.id),
                UpdateExpression: 'SET #status = :succeeded, updatedAt = :at REMOVE openEntity',
                ConditionExpression: refundFrom.expression,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':succeeded': 'succeeded', ':at': input.postedAt, ...refundFrom.values },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: paymentKey(payment.id),
                UpdateExpression: 'ADD amountRefunded :amount SET #status = :status, updatedAt = :at',
                ConditionExpression: `${paymentFrom.expression} AND amountCaptured = :captured AND amountRefunded ${status === 'refunded' ? '=' : '<'} :refundedBefore`,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':amount': refund.amount,
                  ':status': status,
                  ':captured': payment.amountCaptured,
                  ':refundedBefore': refundedBefore,
                  ':at': input.postedAt,
                  ...paymentFrom.values,
                },
              },
            },
          ],
        }));
        return 'posted';
      } catch (error) {
        if (!isTransactionRejection(error)) throw error;
        // The loop re-reads and decides again: already posted, the other branch, or a real conflict.
        if (attempt >= CONTENDED_WRITE_ATTEMPTS) throw new TransactionConflict(`Refund ledger of ${input.refundId} lost ${attempt} races: ${describeReasons(error)}`);
        await jitteredBackoff(attempt, CONTENTION_BACKOFF);
      }
    }
  }

  /**
   * Refund pending → failed and its reserved amount back into the payment's amountRefundable.
   * Already failed is a no-op. Collisions with other refunds of the payment are retried with
   * jittered backoff, as in postRefundLedger.
   */
  async releaseRefund(input: { paymentId: string; refundId: string; failureCode: string; at: string }): Promise<'released' | 'already_released'> {
    const from = toRefundCondition('failed');
    for (let attempt = 1; ; attempt++) {
      const refund = await this.loadRefund(input.paymentId, input.refundId);
      if (refund.status === 'failed') return 'already_released';
      if (refund.status !== 'pending') throw new PaymentStateConflict(`Refund ${input.refundId} is ${refund.status}, cannot release it`);
      try {
        await this.client.send(new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: refundKey(input.paymentId, input.refundId),
                UpdateExpression: 'SET #status = :failed, failureCode = :failureCode, updatedAt = :at REMOVE openEntity',
                ConditionExpression: from.expression,
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: { ':failed': 'failed', ':failureCode': input.failureCode, ':at': input.at, ...from.values },
              },
            },
            {
              Update: {
                TableName: this.tableName,
                Key: paymentKey(input.paymentId),
                UpdateExpression: 'ADD amountRefundable :amount SET updatedAt = :at',
                ConditionExpression: 'attribute_exists(PK)',
                ExpressionAttributeValues: { ':amount': refund.amount, ':at': input.at },
              },
            },
          ],
        }));
        return 'released';
      } catch (error) {
        if (!isTransactionRejection(error)) throw error;
        if (!isTransientConflict(error)) {
          const again = await this.getRefund(input.paymentId, input.refundId);
          if (again?.status === 'failed') return 'already_released';
          throw new PaymentStateConflict(`Cannot release refund ${input.refundId}: ${describeReasons(error)}`);
        }
        if (attempt >= CONTENDED_WRITE_ATTEMPTS) throw new TransactionConflict(`Release of ${input.refundId} lost ${attempt} races`);
        await jitteredBackoff(attempt, CONTENTION_BACKOFF);
      }
    }
  }

  // --- Reconciliation: the open-items index (refunds; payments an earlier version put there) -----

  /**
   * One page of the open payments or refunds created before `createdBefore`, oldest first (the index
   * holds keys only); the cursor is the query's LastEvaluatedKey, opaque to the caller.
   */
  async openItemRefs(entity: 'payment' | 'refund', createdBefore: string, pageSize: number, cursor?: string): Promise<OpenItemsPage> {
    const page = await this.client.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: OPEN_ITEMS_INDEX,
      KeyConditionExpression: 'openEntity = :entity AND createdAt < :before',
      ExpressionAttributeValues: { ':entity': entity, ':before': createdBefore },
      Limit: pageSize,
      ...(cursor ? { ExclusiveStartKey: pageKeyOf(cursor) } : {}),
    }));
    const refs = (page.Items ?? []).map((item) => refOf({ PK: String(item.PK), SK: String(item.SK) }));
    return { refs, ...(page.LastEvaluatedKey ? { cursor: pageTokenOf(page.LastEvaluatedKey) } : {}) };
  }

  /** One key-only item of the open-items index, oldest first: half a read unit. */
  async oldestOpenCreatedAt(entity: 'payment' | 'refund'): Promise<string | undefined> {
    const { Items } = await this.client.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: OPEN_ITEMS_INDEX,
      KeyConditionExpression: 'openEntity = :entity',
      ExpressionAttributeValues: { ':entity': entity },
      ScanIndexForward: true,
      Limit: 1,
    }));
    const createdAt = Items?.[0]?.createdAt;
    return typeof createdAt === 'string' ? createdAt : undefined;
  }

  /** The item as it is now (the index is eventually consistent; the item is read strongly consistent). */
  async readOpenItem(ref: OpenItemRef): Promise<OpenItem | undefined> {
    const item = await this.get<Record<string, unknown>>(keyOf(ref));
    const entity = entityOf(item);
    if (!item || (entity !== 'payment' && entity !== 'refund')) return undefined;
    const handedOverAt = typeof item.reconciliationFlaggedAt === 'string' ? { handedOverAt: item.reconciliationFlaggedAt } : {};
    return { entity, ...withoutStorageAttributes<Payment & Refund>(item), reconcileRestarts: Number(item.reconcileRestarts ?? 0), ...handedOverAt } as OpenItem;
  }

  async countRestart(ref: OpenItemRef): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keyOf(ref),
        UpdateExpression: 'ADD reconcileRestarts :one',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':one': 1 },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  /**
   * Records when an item that no saga can move any more was handed to an operator (and takes it out of
   * the open-items index, when it is in it), provided its status is still the one that was seen. Returns
   * false when the status moved in the meantime.
   */
  async handToOperator(ref: OpenItemRef, seenStatus: string, at: string): Promise<boolean> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: keyOf(ref),
        UpdateExpression: 'SET reconciliationFlaggedAt = :at REMOVE openEntity',
        ConditionExpression: '#status = :seen',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':at': at, ':seen': seenStatus },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  // --- Reconciliation: a merchant's payments through its lookup partition ------------------------

  /** The cursors: one strongly consistent Query of their own partition (one small item per merchant). */
  async paymentScanCursors(): Promise<PaymentScanCursor[]> {
    const cursors: PaymentScanCursor[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :cursors',
        ExpressionAttributeValues: { ':cursors': PAYMENT_SCAN_CURSORS_PK },
        ConsistentRead: true,
        ExclusiveStartKey: startKey,
      }));
      for (const item of Items) {
        cursors.push({
          merchantId: String(item.merchantId),
          ...(typeof item.after === 'string' ? { after: item.after } : {}),
          watching: Array.isArray(item.watching) ? item.watching.map(String) : [],
          version: Number(item.version ?? 0),
        });
      }
      startKey = LastEvaluatedKey;
    } while (startKey);
    return cursors;
  }

  /** A payment's position is its lookupSK `<createdAt>#<id>`: the bare time sorts before every payment created at or after it. */
  positionAt(createdAt: string): string {
    return createdAt;
  }

  /**
   * One page of the merchant's keys-only `lookup` entries, oldest first, between `after` (excluded) and
   * `createdBefore`: `<createdAt>#<id>` sorts below the bare time `createdBefore` exactly when it was created
   * before it. BETWEEN includes its bounds, so the entry at `after` itself is dropped here.
   */
  async merchantPayments({ merchantId, createdBefore, pageSize, after, cursor }: { merchantId: string; createdBefore: string; pageSize: number; after?: string; cursor?: string }): Promise<ScannedPaymentsPage> {
    // A longer stuck bound than the last run's leaves `after` above `createdBefore`: nothing new to read yet.
    if (after !== undefined && after >= createdBefore) return { payments: [] };
    const page = await this.client.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: LOOKUP_INDEX,
      KeyConditionExpression: `lookupPK = :merchant AND ${after !== undefined ? 'lookupSK BETWEEN :after AND :before' : 'lookupSK < :before'}`,
      ExpressionAttributeValues: { ':merchant': merchantPaymentsPartition(merchantId), ':before': createdBefore, ...(after !== undefined ? { ':after': after } : {}) },
      ScanIndexForward: true,
      Limit: pageSize,
      ...(cursor ? { ExclusiveStartKey: pageKeyOf(cursor) } : {}),
    }));
    const payments = (page.Items ?? [])
      .filter((item) => item.lookupSK !== after)
      .map((item) => {
        const position = String(item.lookupSK);
        return { paymentId: paymentIdOfKey(item.PK), createdAt: position.slice(0, position.indexOf('#')), position };
      });
    return { payments, ...(page.LastEvaluatedKey ? { cursor: pageTokenOf(page.LastEvaluatedKey) } : {}) };
  }

  /** BatchGetItem, eventually consistent (half a read unit per payment under 4 KB), of the attributes that decide. */
  async scannedPaymentStates(paymentIds: readonly string[]): Promise<Map<string, ScannedPaymentState>> {
    const states = new Map<string, ScannedPaymentState>();
    const keys = [...new Set(paymentIds)].map((id) => paymentKey(id));
    for (const item of await this.batchGetItems(keys, { projection: 'PK, #status, reconciliationFlaggedAt, openEntity', names: { '#status': 'status' } })) {
      states.set(paymentIdOfKey(item.PK), { status: String(item.status), handedOver: item.reconciliationFlaggedAt !== undefined, inOpenItems: item.openEntity === 'payment' });
    }
    return states;
  }

  /** A conditional Put over the version that was read: two overlapping runs cannot both store theirs. */
  async savePaymentScanCursor(cursor: PaymentScanCursor): Promise<boolean> {
    const { version } = cursor;
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: paymentScanCursorItem(cursor),
        ConditionExpression: version === 0 ? 'attribute_not_exists(PK)' : '#version = :seen',
        ...(version === 0 ? {} : { ExpressionAttributeNames: { '#version': 'version' }, ExpressionAttributeValues: { ':seen': version } }),
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  // --- Daily reconciliation ----------------------------------------------------------------------

  async capturePostingsOfDay(day: string, pageToken?: string): Promise<TokenPage<LedgerCapture>> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(new QueryCommand({
      TableName: this.tableName,
      IndexName: CAPTURE_POSTINGS_BY_DAY_INDEX,
      KeyConditionExpression: 'postedDay = :day',
      ExpressionAttributeValues: { ':day': day },
      Limit: LEDGER_PAGE_SIZE,
      ...(pageToken ? { ExclusiveStartKey: pageKeyOf(pageToken) } : {}),
    }));
    return {
      items: (Items as PostingItem[]).map(ledgerCaptureOf),
      ...(LastEvaluatedKey ? { nextPageToken: pageTokenOf(LastEvaluatedKey) } : {}),
    };
  }

  /** Each payment and its capture posting, read in batches (strongly consistent: a recovery decides on them). */
  async captureLedgerOf(paymentIds: readonly string[]): Promise<Map<string, { payment?: PaymentView & { authorizationId?: string }; posting?: LedgerCapture }>> {
    const found = new Map<string, { payment?: PaymentView & { authorizationId?: string }; posting?: LedgerCapture }>();
    const keys = [...new Set(paymentIds)].flatMap((id) => [paymentKey(id), { PK: paymentPartitionKey(id), SK: CAPTURE_POSTING_SK }]);
    for (const item of await this.batchGetItems(keys, { consistent: true })) {
      const paymentId = paymentIdOfKey(item.PK);
      const entry = found.get(paymentId) ?? {};
      if (item.SK === CAPTURE_POSTING_SK) entry.posting = ledgerCaptureOf(item as unknown as PostingItem);
      else {
        const { id, merchantId, status, amount, currency, authorizationId } = item as unknown as PaymentItem;
        entry.payment = { id, merchantId, status, amount, currency, ...(authorizationId ? { authorizationId } : {}) };
      }
      found.set(paymentId, entry);
    }
    return found;
  }

  /** BatchGetItem over any number of keys, in calls of BATCH_GET_LIMIT; unprocessed keys retried with backoff. Items in no order. */
  private async batchGetItems(keys: readonly ItemKey[], read: { projection?: string; names?: Record<string, string>; consistent?: boolean } = {}): Promise<Array<Record<string, unknown>>> {
    const items: Array<Record<string, unknown>> = [];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let pending: Array<Record<string, unknown>> = keys.slice(start, start + BATCH_GET_LIMIT).map((key) => ({ PK: key.PK, SK: key.SK }));
      for (let attempt = 1; pending.length > 0; attempt++) {
        const { Responses, UnprocessedKeys } = await this.client.send(new BatchGetCommand({
          RequestItems: {
            [this.tableName]: {
              Keys: pending,
              ...(read.projection ? { ProjectionExpression: read.projection } : {}),
              ...(read.names ? { ExpressionAttributeNames: read.names } : {}),
              ...(read.consistent ? { ConsistentRead: true } : {}),
            },
          },
        }));
        items.push(...(Responses?.[this.tableName] ?? []));
        pending = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (pending.length > 0) await jitteredBackoff(attempt);
      }
    }
    return items;
  }

  private async get<T>(key: ItemKey): Promise<T | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: key, ConsistentRead: true }));
    return Item as T | undefined;
  }
}

const LEDGER_PAGE_SIZE = 100;

const ledgerCaptureOf = (item: PostingItem): LedgerCapture => ({
  paymentId: item.paymentId,
  amount: capturedAmount(item),
  currency: item.currency,
  postedAt: item.createdAt,
  ...(item.authorizationId ? { authorizationId: item.authorizationId } : {}),
});

const keyOf = (ref: OpenItemRef): ItemKey => (ref.entity === 'payment' ? paymentKey(ref.paymentId) : refundKey(ref.paymentId, ref.refundId));

function refOf(key: ItemKey): OpenItemRef {
  const paymentId = key.PK.slice('PAYMENT#'.length);
  return key.SK.startsWith('REFUND#') ? { entity: 'refund', paymentId, refundId: key.SK.slice('REFUND#'.length) } : { entity: 'payment', paymentId };
}

function fromAttributes<T>(item: Record<string, AttributeValue>): T {
  return withoutStorageAttributes<T>(unmarshall(item));
}

const TRANSIENT_CLIENT_ERRORS = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TransactionInProgressException',
  'TransactionCanceledException',
  'IdempotentParameterMismatchException',
]);

/** DynamoDB's own answer that it applied nothing, for a reason that holds on every retry. */
function isDefinitiveRefusal(error: unknown): error is DynamoDBServiceException {
  return error instanceof DynamoDBServiceException && error.$fault === 'client' && !TRANSIENT_CLIENT_ERRORS.has(error.name);
}

/** A transaction the table refused as a whole: a condition failed, a conflict, or a token reused with other parameters. */
function isTransactionRejection(error: unknown): error is Error {
  return error instanceof TransactionCanceledException || (error instanceof Error && error.name === 'IdempotentParameterMismatchException');
}

function isTransientConflict(error: unknown): boolean {
  return error instanceof TransactionCanceledException && (error.CancellationReasons ?? []).some((reason) => reason.Code === 'TransactionConflict');
}

function describeReasons(error: Error): string {
  if (!(error instanceof TransactionCanceledException)) return error.message;
  return (error.CancellationReasons ?? []).map((reason) => reason.Code ?? 'None').join(', ');
}

/** The Payments table named by the function's settings. */
export const paymentsTableFromSettings = () => new PaymentsTable(documentClient, setting('paymentsTable'));
