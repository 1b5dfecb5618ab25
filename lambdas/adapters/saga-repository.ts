/**
 * The Payments-table state transitions the sagas make (CONTRACT "Payments table", "Sagas"). Every
 * write is conditional on the current status, so a status only moves forward, and every operation
 * is idempotent: repeating one that already took effect is a successful no-op.
 */
import { ConditionalCheckFailedException, DynamoDBServiceException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { GetCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { jitteredBackoff } from '#commons/backoff';
import { requiredEnv } from '#commons/env';
import { capturePosting, refundPosting, type Posting } from '#domain/ledger';
import type { Currency } from '#domain/money';
import { REFUNDABLE_PAYMENT_STATUSES, paymentKey, paymentPartitionKey, statusAfterRefund, type PaymentItem, type PaymentStatus } from '#domain/payment';
import { refundKey, type RefundItem, type RefundStatus } from '#domain/refund';

export const CAPTURE_POSTING_SK = 'POSTING#capture';
export const refundPostingSortKey = (refundId: string) => `POSTING#refund#${refundId}`;

/** The Payments-table item of a ledger posting (CONTRACT). */
export interface PostingItem extends Posting {
  PK: string;
  SK: string;
  entity: 'posting';
  createdAt: string;
}

/** What the payment saga needs to know about a payment. */
export interface PaymentSnapshot {
  paymentId: string;
  merchantId: string;
  amount: number;
  currency: Currency;
  source: string;
  status: PaymentStatus;
}

export interface RefundSnapshot {
  paymentId: string;
  refundId: string;
  merchantId: string;
  amount: number;
  currency: Currency;
  status: RefundStatus;
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
 * DynamoDB answered that it did not apply the write, with a client error that retrying cannot fix
 * (a missing table, a validation error, access denied): certain and permanent.
 */
export class WriteRefused extends Error {
  override readonly name = 'WriteRefused';
}

/** Another transaction held the item: transient, retry. */
export class TransactionConflict extends Error {
  override readonly name = 'TransactionConflict';
}

export interface SagaRepositoryOptions {
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
}

/** Writes that other refunds of the same payment contend with: attempts in one call, then TransactionConflict. */
const CONTENDED_WRITE_ATTEMPTS = 8;
const CONTENTION_BACKOFF = { baseMs: 20, capMs: 1_000 };

export class SagaRepository {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;

  constructor(options: SagaRepositoryOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
  }

  /** pending → processing. Returns the payment as it is afterwards (terminal statuses included: nothing to do then). */
  async markProcessing(paymentId: string, at: string): Promise<PaymentSnapshot> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: paymentKey(paymentId),
          UpdateExpression: 'SET #status = :processing, updatedAt = :at',
          ConditionExpression: '#status = :pending',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':processing': 'processing', ':pending': 'pending', ':at': at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return paymentSnapshot(Attributes as PaymentItem);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const payment = await this.getPayment(paymentId);
      if (!payment) throw new PaymentNotFound(`Payment ${paymentId} does not exist`);
      return paymentSnapshot(payment);
    }
  }

  /**
   * One transaction: the balanced capture posting and processing → succeeded with the captured and
   * refundable amounts. ClientRequestToken `<paymentId>:ledger` makes a retried request a replay;
   * a repeat after success (posting present, payment past processing) is a no-op.
   */
  async postCaptureLedger(input: { paymentId: string; merchantId: string; amount: number; currency: Currency; authorizationId?: string; postedAt: string }): Promise<'posted' | 'already_posted'> {
    const posting = capturePosting(input);
    const item: PostingItem = { ...posting, PK: paymentPartitionKey(input.paymentId), SK: CAPTURE_POSTING_SK, entity: 'posting', createdAt: input.postedAt };
    try {
      await this.client.send(
        new TransactWriteCommand({
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
                ConditionExpression: '#status = :processing AND amount = :amount',
                ExpressionAttributeNames: { '#status': 'status' },
                ExpressionAttributeValues: {
                  ':succeeded': 'succeeded',
                  ':processing': 'processing',
                  ':amount': input.amount,
                  ':at': input.postedAt,
                  ...(input.authorizationId ? { ':authorizationId': input.authorizationId } : {}),
                },
              },
            },
          ],
        }),
      );
      return 'posted';
    } catch (error) {
      if (isDefinitiveRefusal(error)) throw new WriteRefused(`The capture posting of ${input.paymentId} was refused: ${error.name}: ${error.message}`);
      // Anything else (a timeout, a lost response, throttling past the SDK's retries) may hide a
      // committed transaction: the state machine retries this idempotent call to find out.
      if (!isTransactionRejection(error)) throw error;
      const [payment, existing] = await Promise.all([this.getPayment(input.paymentId), this.get<PostingItem>(item.PK, item.SK)]);
      if (existing && payment && ['succeeded', 'partially_refunded', 'refunded'].includes(payment.status)) return 'already_posted';
      if (isTransientConflict(error)) throw new TransactionConflict(`Ledger posting of ${input.paymentId} collided with another transaction`);
      throw new PaymentStateConflict(`Cannot post the capture of ${input.paymentId}: payment is ${payment?.status ?? 'missing'}, posting ${existing ? 'exists' : 'absent'}`);
    }
  }

  /** processing → failed with a failure code. Already failed is a no-op; any other status is a conflict. */
  async markFailed(input: { paymentId: string; failureCode: string; at: string }): Promise<PaymentSnapshot & { failureCode: string }> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: paymentKey(input.paymentId),
          UpdateExpression: 'SET #status = :failed, failureCode = :failureCode, updatedAt = :at REMOVE openEntity',
          ConditionExpression: '#status = :processing',
          ExpressionAttributeNames: { '#status': 'status' },
          ExpressionAttributeValues: { ':failed': 'failed', ':failureCode': input.failureCode, ':processing': 'processing', ':at': input.at },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return { ...paymentSnapshot(Attributes as PaymentItem), failureCode: input.failureCode };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const payment = await this.getPayment(input.paymentId);
      if (payment?.status === 'failed') return { ...paymentSnapshot(payment), failureCode: payment.failureCode ?? input.failureCode };
      throw new PaymentStateConflict(`Cannot mark ${input.paymentId} failed: it is ${payment?.status ?? 'missing'}`);
    }
  }

  async loadRefund(paymentId: string, refundId: string): Promise<RefundSnapshot> {
    const refund = await this.getRefund(paymentId, refundId);
    if (!refund) throw new RefundNotFound(`Refund ${refundId} of ${paymentId} does not exist`);
    return refundSnapshot(refund);
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
      const last = status === 'refunded';
      const posting = refundPosting({ paymentId: payment.id, merchantId: payment.merchantId, currency: payment.currency, amount: refund.amount, refundId: refund.id });
      const item: PostingItem = { ...posting, PK: paymentPartitionKey(payment.id), SK: refundPostingSortKey(refund.id), entity: 'posting', createdAt: input.postedAt };
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(PK)' } },
              {
                Update: {
                  TableName: this.tableName,
                  Key: refundKey(payment.id, refund.id),
                  UpdateExpression: 'SET #status = :succeeded, updatedAt = :at REMOVE openEntity',
                  ConditionExpression: '#status = :pending',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':succeeded': 'succeeded', ':pending': 'pending', ':at': input.postedAt },
                },
              },
              {
                Update: {
                  TableName: this.tableName,
                  Key: paymentKey(payment.id),
                  UpdateExpression: 'ADD amountRefunded :amount SET #status = :status, updatedAt = :at',
                  ConditionExpression: `#status IN (:succeeded, :partiallyRefunded) AND amountCaptured = :captured AND amountRefunded ${last ? '=' : '<'} :refundedBefore`,
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: {
                    ':amount': refund.amount,
                    ':status': status,
                    ':captured': payment.amountCaptured,
                    ':refundedBefore': refundedBefore,
                    ':succeeded': 'succeeded',
                    ':partiallyRefunded': 'partially_refunded',
                    ':at': input.postedAt,
                  },
                },
              },
            ],
          }),
        );
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
    for (let attempt = 1; ; attempt++) {
      const refund = await this.getRefund(input.paymentId, input.refundId);
      if (!refund) throw new RefundNotFound(`Refund ${input.refundId} of ${input.paymentId} does not exist`);
      if (refund.status === 'failed') return 'already_released';
      if (refund.status !== 'pending') throw new PaymentStateConflict(`Refund ${input.refundId} is ${refund.status}, cannot release it`);
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              {
                Update: {
                  TableName: this.tableName,
                  Key: refundKey(input.paymentId, input.refundId),
                  UpdateExpression: 'SET #status = :failed, failureCode = :failureCode, updatedAt = :at REMOVE openEntity',
                  ConditionExpression: '#status = :pending',
                  ExpressionAttributeNames: { '#status': 'status' },
                  ExpressionAttributeValues: { ':failed': 'failed', ':pending': 'pending', ':failureCode': input.failureCode, ':at': input.at },
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
          }),
        );
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

  async getPayment(paymentId: string): Promise<PaymentItem | undefined> {
    const { PK, SK } = paymentKey(paymentId);
    return this.get<PaymentItem>(PK, SK);
  }

  async getRefund(paymentId: string, refundId: string): Promise<RefundItem | undefined> {
    const { PK, SK } = refundKey(paymentId, refundId);
    return this.get<RefundItem>(PK, SK);
  }

  private async get<T>(PK: string, SK: string): Promise<T | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK, SK }, ConsistentRead: true }));
    return Item as T | undefined;
  }
}

function paymentSnapshot(payment: PaymentItem): PaymentSnapshot {
  return {
    paymentId: payment.id,
    merchantId: payment.merchantId,
    amount: payment.amount,
    currency: payment.currency,
    source: payment.source,
    status: payment.status,
  };
}

function refundSnapshot(refund: RefundItem): RefundSnapshot {
  return {
    paymentId: refund.paymentId,
    refundId: refund.id,
    merchantId: refund.merchantId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
  };
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

/** The repository on the table named by PAYMENTS_TABLE_NAME. */
export function sagaRepositoryFromEnvironment(client: DynamoDBDocumentClient): SagaRepository {
  return new SagaRepository({ tableName: requiredEnv('PAYMENTS_TABLE_NAME'), client });
}
