import { ConditionalCheckFailedException, TransactionCanceledException, type AttributeValue } from '@aws-sdk/client-dynamodb';
import { GetCommand, PutCommand, TransactWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
// lib-dynamodb does not unmarshall the old item that a failed condition returns (ALL_OLD); its own
// dependency does. Resolved through lib-dynamodb's dependency tree (package-lock pins it).
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { jitteredBackoff } from '#commons/backoff';
import { REFUNDABLE_PAYMENT_STATUSES, paymentKey, type PaymentItem } from '#domain/payment';
import { refundKey, type RefundItem } from '#domain/refund';

export type CreatePaymentResult =
  | { created: true; payment: PaymentItem }
  | { created: false; existing: PaymentItem };

export type ReserveRefundResult =
  | { outcome: 'reserved'; refund: RefundItem }
  /** A refund with this id exists already (a retry, or a reused key). */
  | { outcome: 'refund_exists'; existing: RefundItem }
  /** The payment's condition failed: it is gone, not refundable, or has less refundable than asked. `payment` is its current state. */
  | { outcome: 'payment_conflict'; payment: PaymentItem | undefined }
  /** Concurrent transactions on the payment kept winning for every attempt: nothing was written. */
  | { outcome: 'busy' };

const MAX_TRANSACTION_CONFLICT_ATTEMPTS = 8;

/** The Payments table as the API needs it. Every write is conditional; nothing is read-then-written. */
export class PaymentsRepository {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Puts a new payment unless one with its id exists. The id derives from (merchant, idempotency
   * key), so a conflict is a retry of the same request or a reuse of the key: the stored item comes
   * back with the failed condition (ALL_OLD) in the same call.
   */
  async createPayment(item: PaymentItem): Promise<CreatePaymentResult> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: item,
        ConditionExpression: 'attribute_not_exists(PK)',
        ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
      }));
      return { created: true, payment: item };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        const existing = error.Item ? fromAttributes<PaymentItem>(error.Item) : await this.getPayment(item.id);
        if (existing) return { created: false, existing };
      }
      throw error;
    }
  }

  async getPayment(paymentId: string): Promise<PaymentItem | undefined> {
    const result = await this.client.send(new GetCommand({
      TableName: this.tableName,
      Key: paymentKey(paymentId),
      ConsistentRead: true,
    }));
    return result.Item as PaymentItem | undefined;
  }

  async getRefund(paymentId: string, refundId: string): Promise<RefundItem | undefined> {
    const result = await this.client.send(new GetCommand({
      TableName: this.tableName,
      Key: refundKey(paymentId, refundId),
      ConsistentRead: true,
    }));
    return result.Item as RefundItem | undefined;
  }

  /**
   * Reserves a refund in one transaction: decrements the payment's amountRefundable on the
   * condition that the payment belongs to the merchant, is refundable and has at least the amount
   * left, and puts the pending refund item unless it exists. Concurrent refunds therefore can never
   * reserve more than was captured. Transaction conflicts with concurrent writers are retried with
   * jittered backoff, a bounded number of times.
   */
  async reserveRefund(refund: RefundItem): Promise<ReserveRefundResult> {
    const [refundableStatus, otherRefundableStatus] = REFUNDABLE_PAYMENT_STATUSES;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(new TransactWriteCommand({
          TransactItems: [
            {
              Update: {
                TableName: this.tableName,
                Key: paymentKey(refund.paymentId),
                UpdateExpression: 'SET amountRefundable = amountRefundable - :amount, updatedAt = :now',
                ConditionExpression:
                  'merchantId = :merchantId AND #status IN (:refundable, :otherRefundable) AND amountRefundable >= :amount',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':amount': refund.amount,
                  ':now': refund.createdAt,
                  ':merchantId': refund.merchantId,
                  ':refundable': refundableStatus,
                  ':otherRefundable': otherRefundableStatus,
                },
                ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
              },
            },
            {
              Put: {
                TableName: this.tableName,
                Item: refund,
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
          const existing = refundReason.Item
            ? fromAttributes<RefundItem>(refundReason.Item)
            : await this.getRefund(refund.paymentId, refund.id);
          if (existing) return { outcome: 'refund_exists', existing };
        }
        if (paymentReason?.Code === 'ConditionalCheckFailed') {
          const payment = paymentReason.Item
            ? fromAttributes<PaymentItem>(paymentReason.Item)
            : await this.getPayment(refund.paymentId);
          return { outcome: 'payment_conflict', payment };
        }
        const conflicting = [paymentReason, refundReason].some((reason) => reason?.Code === 'TransactionConflict');
        if (!conflicting) throw error;
        if (attempt >= MAX_TRANSACTION_CONFLICT_ATTEMPTS) return { outcome: 'busy' };
        await jitteredBackoff(attempt);
      }
    }
  }
}

function fromAttributes<T>(item: Record<string, AttributeValue>): T {
  return unmarshall(item) as T;
}
