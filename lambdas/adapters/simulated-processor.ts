/**
 * A processor in "test mode" (DESIGN §5): it keeps its own idempotency records in the processor
 * table (one item per idempotency key, `expiresAt` TTL 7 days), so the same key always yields the
 * same outcome, and test tokens drive its behaviour:
 *
 * | source | behaviour |
 * | tok_success | every operation succeeds |
 * | tok_decline / tok_insufficient_funds | authorize declines (PaymentDeclined card_declined / insufficient_funds) |
 * | tok_capture_fail | authorize succeeds, capture fails (CaptureFailed) |
 * | tok_refund_fail | authorize and capture succeed, refunds fail (RefundFailed refund_declined) |
 * | tok_flaky | the first 2 calls of every key throw ProcessorUnavailable, then it behaves like tok_success |
 * | tok_timeout | the first call of every key does the work, records it, then throws ProcessorTimeout; a retry returns the recorded result |
 * | anything else | authorize declines (card_declined), as a test-mode processor rejects unknown tokens |
 *
 * Like a processor whose object ids come from the request, object ids derive from the key's
 * reference (keys are `<reference>:<operation>`, CONTRACT): authorization `auth_<ref>`, capture
 * `cap_<ref>`. That lets capture, void and refund find the authorization and capture they act on.
 *
 * For the daily reconciliation, a succeeded capture carries `capturedDay` (its UTC day), the
 * partition key of the sparse `captures-by-day` index, and a void that reverses a capture marks it
 * `reversedAt`. One index partition per day takes every capture of that day: about 1,000 captures per
 * second before DynamoDB throttles the index, plenty for a test-mode processor.
 */
import { ConditionalCheckFailedException, TransactionCanceledException } from '@aws-sdk/client-dynamodb';
import { BatchGetCommand, GetCommand, PutCommand, QueryCommand, TransactWriteCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import {
  CaptureFailed,
  PaymentDeclined,
  ProcessorIdempotencyMismatch,
  ProcessorTimeout,
  ProcessorUnavailable,
  RefundFailed,
  type AuthorizeRequest,
  type CaptureRequest,
  type Page,
  type PaymentProcessor,
  type ProcessorCapture,
  type ProcessorRecords,
  type RefundRequest,
  type VoidRequest,
} from '#ports/processor';
import { jitteredBackoff } from '#commons/backoff';
import type { Currency } from '#domain/money';

export const TEST_TOKENS = [
  'tok_success',
  'tok_decline',
  'tok_insufficient_funds',
  'tok_capture_fail',
  'tok_refund_fail',
  'tok_flaky',
  'tok_timeout',
] as const;

const RECORD_TTL_SECONDS = 7 * 24 * 60 * 60;
export const CAPTURES_BY_DAY_INDEX = 'captures-by-day';
const CAPTURES_PAGE_SIZE = 100;
const BATCH_GET_LIMIT = 100;
const FLAKY_FAILURES_PER_KEY = 2;
const REFUND_CONFLICT_ATTEMPTS = 8;

export type ProcessorOperation = 'authorize' | 'capture' | 'void' | 'refund';

/** One idempotency record of the simulated processor: the outcome of the first call with `key`. */
export interface ProcessorRecord {
  key: string;
  operation: ProcessorOperation;
  /** The key without its `:<operation>` suffix: the payment id, or the refund id for refunds. */
  reference: string;
  outcome: 'succeeded' | 'failed';
  failureCode?: string;
  /** The error name the failure is reported with. */
  failureType?: 'PaymentDeclined' | 'CaptureFailed' | 'RefundFailed';
  source: string;
  amount?: number;
  currency?: string;
  authorizationId?: string;
  captureId?: string;
  refundId?: string;
  /** On a void: the capture it reversed, if the authorization had been captured. */
  reversedCaptureId?: string;
  /** On a capture: the total refunded so far. */
  refundedAmount?: number;
  /** On a succeeded capture: its UTC day, the key of the captures-by-day index. */
  capturedDay?: string;
  /** On a capture that a void reversed: when. */
  reversedAt?: string;
  createdAt: string;
  expiresAt: number;
}

export interface SimulatedProcessorOptions {
  readonly tableName: string;
  readonly client: DynamoDBDocumentClient;
  readonly now?: () => Date;
}

export function referenceOf(key: string): string {
  const separator = key.lastIndexOf(':');
  return separator > 0 ? key.slice(0, separator) : key;
}

const authorizationIdFor = (reference: string) => `auth_${reference}`;
const captureIdFor = (reference: string) => `cap_${reference}`;
const referenceOfObjectId = (id: string) => id.slice(id.indexOf('_') + 1);
const keyFor = (reference: string, operation: ProcessorOperation) => `${reference}:${operation}`;

const PORT_ERRORS = new Set(['PaymentDeclined', 'CaptureFailed', 'RefundFailed', 'ProcessorUnavailable', 'ProcessorTimeout', 'ProcessorIdempotencyMismatch']);

/**
 * The processor's records are the processor: when they cannot be reached (its table is unavailable,
 * missing, throttled past the SDK's retries), the call's outcome is unknown to the caller, as with a
 * real processor that does not answer — a ProcessorTimeout, retried with the same key.
 */
async function unreachableIsTimeout<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof Error && PORT_ERRORS.has(error.name)) throw error;
    throw new ProcessorTimeout(`processor_unreachable: ${error instanceof Error ? error.name : 'unknown'}`);
  }
}

function captureOf(record: ProcessorRecord): ProcessorCapture {
  return {
    paymentId: record.reference,
    captureId: record.captureId!,
    ...(record.authorizationId ? { authorizationId: record.authorizationId } : {}),
    amount: record.amount ?? 0,
    currency: (record.currency ?? '') as Currency,
    capturedAt: record.createdAt,
    refundedAmount: record.refundedAmount ?? 0,
    reversed: record.reversedAt !== undefined,
  };
}

export class SimulatedProcessor implements PaymentProcessor, ProcessorRecords {
  private readonly tableName: string;
  private readonly client: DynamoDBDocumentClient;
  private readonly now: () => Date;

  constructor(options: SimulatedProcessorOptions) {
    this.tableName = options.tableName;
    this.client = options.client;
    this.now = options.now ?? (() => new Date());
  }

  authorize(request: AuthorizeRequest): Promise<{ authorizationId: string }> {
    return unreachableIsTimeout(() => this.authorizeCall(request));
  }

  private async authorizeCall(request: AuthorizeRequest): Promise<{ authorizationId: string }> {
    await this.failIfFlaky(request.source, request.key);
    const reference = referenceOf(request.key);
    const declineCode =
      request.source === 'tok_decline' ? 'card_declined'
      : request.source === 'tok_insufficient_funds' ? 'insufficient_funds'
      : (TEST_TOKENS as readonly string[]).includes(request.source) ? undefined
      : 'card_declined';
    const record = await this.record(
      {
        key: request.key,
        operation: 'authorize',
        reference,
        source: request.source,
        amount: request.amount,
        currency: request.currency,
        ...(declineCode
          ? { outcome: 'failed', failureType: 'PaymentDeclined', failureCode: declineCode }
          : { outcome: 'succeeded', authorizationId: authorizationIdFor(reference) }),
      },
      (existing) => existing.amount === request.amount && existing.currency === request.currency && existing.source === request.source,
    );
    return { authorizationId: this.resultOf(record).authorizationId! };
  }

  capture(request: CaptureRequest): Promise<{ captureId: string }> {
    return unreachableIsTimeout(() => this.captureCall(request));
  }

  private async captureCall(request: CaptureRequest): Promise<{ captureId: string }> {
    const reference = referenceOfObjectId(request.authorizationId);
    const [authorization, voided] = await Promise.all([this.get(keyFor(reference, 'authorize')), this.get(keyFor(reference, 'void'))]);
    const source = authorization?.source ?? 'unknown';
    await this.failIfFlaky(source, request.key);
    const failureCode =
      authorization?.outcome !== 'succeeded' || authorization.authorizationId !== request.authorizationId ? 'authorization_not_found'
      : voided ? 'authorization_voided'
      : request.amount > (authorization.amount ?? 0) ? 'amount_exceeds_authorized'
      : source === 'tok_capture_fail' ? 'capture_failed'
      : undefined;
    const record = await this.record(
      {
        key: request.key,
        operation: 'capture',
        reference,
        source,
        amount: request.amount,
        ...(authorization?.currency ? { currency: authorization.currency } : {}),
        authorizationId: request.authorizationId,
        ...(failureCode
          ? { outcome: 'failed', failureType: 'CaptureFailed', failureCode }
          : { outcome: 'succeeded', captureId: captureIdFor(reference), refundedAmount: 0 }),
      },
      (existing) => existing.amount === request.amount && existing.authorizationId === request.authorizationId,
    );
    return { captureId: this.resultOf(record).captureId! };
  }

  void(request: VoidRequest): Promise<{ voided: true }> {
    return unreachableIsTimeout(() => this.voidCall(request));
  }

  private async voidCall(request: VoidRequest): Promise<{ voided: true }> {
    const reference = request.authorizationId ? referenceOfObjectId(request.authorizationId) : referenceOf(request.key);
    const [authorization, capture] = await Promise.all([this.get(keyFor(reference, 'authorize')), this.get(keyFor(reference, 'capture'))]);
    await this.failIfFlaky(authorization?.source ?? 'unknown', request.key);
    await this.record(
      {
        key: request.key,
        operation: 'void',
        reference,
        source: authorization?.source ?? 'unknown',
        outcome: 'succeeded',
        ...(authorization?.authorizationId ? { authorizationId: authorization.authorizationId } : {}),
        ...(capture?.outcome === 'succeeded' ? { reversedCaptureId: capture.captureId } : {}),
      },
      () => true,
    );
    // Also on a replay: a void whose first call stopped after its record still marks the capture.
    if (capture?.outcome === 'succeeded') await this.markReversed(capture.key);
    return { voided: true };
  }

  refund(request: RefundRequest): Promise<{ refundId: string }> {
    return unreachableIsTimeout(() => this.refundCall(request));
  }

  private async refundCall(request: RefundRequest): Promise<{ refundId: string }> {
    const chargeReference = request.captureId ? referenceOfObjectId(request.captureId) : request.paymentId;
    if (!chargeReference) throw new ProcessorIdempotencyMismatch('A refund needs a captureId or a paymentId');
    const captureKey = keyFor(chargeReference, 'capture');
    const [capture, voided] = await Promise.all([this.get(captureKey), this.get(keyFor(chargeReference, 'void'))]);
    const source = capture?.source ?? 'unknown';
    await this.failIfFlaky(source, request.key);
    const reference = referenceOf(request.key);
    const draft: Omit<ProcessorRecord, 'createdAt' | 'expiresAt'> = {
      key: request.key,
      operation: 'refund',
      reference,
      source,
      amount: request.amount,
      outcome: 'succeeded',
      ...(capture?.captureId ? { captureId: capture.captureId } : {}),
      refundId: `rfnd_${reference}`,
    };
    const refusal =
      capture?.outcome !== 'succeeded' || voided?.reversedCaptureId ? 'charge_not_captured'
      : source === 'tok_refund_fail' ? 'refund_declined'
      : undefined;
    const sameRequest = (existing: ProcessorRecord) => existing.amount === request.amount;
    if (refusal) return { refundId: this.resultOf(await this.record(this.failedRefund(draft, refusal), sameRequest)).refundId! };

    // The refund record and the capture's refunded total move together, so refunds never exceed the capture.
    const item = this.stamp(draft);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.client.send(
          new TransactWriteCommand({
            TransactItems: [
              { Put: { TableName: this.tableName, Item: item, ConditionExpression: 'attribute_not_exists(#key)', ExpressionAttributeNames: { '#key': 'key' } } },
              {
                Update: {
                  TableName: this.tableName,
                  Key: { key: captureKey },
                  UpdateExpression: 'ADD refundedAmount :amount',
                  ConditionExpression: 'refundedAmount <= :limit',
                  ExpressionAttributeValues: { ':amount': request.amount, ':limit': (capture?.amount ?? 0) - request.amount },
                },
              },
            ],
          }),
        );
        break;
      } catch (error) {
        if (!(error instanceof TransactionCanceledException)) throw error;
        const [refundReason, captureReason] = error.CancellationReasons ?? [];
        if (refundReason?.Code === 'ConditionalCheckFailed') {
          const existing = await this.get(request.key);
          if (!existing) throw error;
          return { refundId: this.resultOf(this.replay(existing, sameRequest)).refundId! };
        }
        if (captureReason?.Code === 'ConditionalCheckFailed') {
          return { refundId: this.resultOf(await this.record(this.failedRefund(draft, 'amount_exceeds_captured'), sameRequest)).refundId! };
        }
        // Concurrent refunds of one capture: nothing was written, so this one may try again.
        if (attempt >= REFUND_CONFLICT_ATTEMPTS) throw new ProcessorUnavailable(`Refund ${request.key} kept colliding with other refunds of the capture`);
        await jitteredBackoff(attempt);
      }
    }
    if (source === 'tok_timeout') throw new ProcessorTimeout();
    return { refundId: item.refundId! };
  }

  private async markReversed(captureKey: string): Promise<void> {
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { key: captureKey },
        UpdateExpression: 'SET reversedAt = if_not_exists(reversedAt, :now)',
        ConditionExpression: 'attribute_exists(#key)',
        ExpressionAttributeNames: { '#key': 'key' },
        ExpressionAttributeValues: { ':now': this.now().toISOString() },
      }),
    );
  }

  // --- The processor's records, for the daily reconciliation --------------------------------------

  async capturesOfDay(day: string, pageToken?: string): Promise<Page<ProcessorCapture>> {
    const { Items = [], LastEvaluatedKey } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: CAPTURES_BY_DAY_INDEX,
        KeyConditionExpression: 'capturedDay = :day',
        ExpressionAttributeValues: { ':day': day },
        Limit: CAPTURES_PAGE_SIZE,
        ...(pageToken ? { ExclusiveStartKey: JSON.parse(Buffer.from(pageToken, 'base64url').toString('utf8')) as Record<string, unknown> } : {}),
      }),
    );
    return {
      items: (Items as ProcessorRecord[]).map(captureOf),
      ...(LastEvaluatedKey ? { nextPageToken: Buffer.from(JSON.stringify(LastEvaluatedKey)).toString('base64url') } : {}),
    };
  }

  async capturesOf(payments: ReadonlyArray<{ paymentId: string }>): Promise<Map<string, ProcessorCapture>> {
    const found = new Map<string, ProcessorCapture>();
    const keys = [...new Set(payments.map(({ paymentId }) => keyFor(paymentId, 'capture')))];
    for (let start = 0; start < keys.length; start += BATCH_GET_LIMIT) {
      let requested: Array<Record<string, unknown>> = keys.slice(start, start + BATCH_GET_LIMIT).map((key) => ({ key }));
      for (let attempt = 1; requested.length > 0; attempt++) {
        const { Responses, UnprocessedKeys } = await this.client.send(new BatchGetCommand({ RequestItems: { [this.tableName]: { Keys: requested } } }));
        for (const record of (Responses?.[this.tableName] ?? []) as ProcessorRecord[]) {
          if (record.outcome === 'succeeded') found.set(record.reference, captureOf(record));
        }
        requested = UnprocessedKeys?.[this.tableName]?.Keys ?? [];
        if (requested.length > 0) await jitteredBackoff(attempt);
      }
    }
    return found;
  }

  private failedRefund(draft: Omit<ProcessorRecord, 'createdAt' | 'expiresAt'>, failureCode: string): Omit<ProcessorRecord, 'createdAt' | 'expiresAt'> {
    const { refundId: _refundId, ...rest } = draft;
    return { ...rest, outcome: 'failed', failureType: 'RefundFailed', failureCode };
  }

  /** tok_flaky: the first calls of each key fail before anything happens. */
  private async failIfFlaky(source: string, key: string): Promise<void> {
    if (source !== 'tok_flaky') return;
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { key: `${key}#calls` },
        UpdateExpression: 'ADD calls :one SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': this.expiresAt() },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    if ((Attributes?.calls as number) <= FLAKY_FAILURES_PER_KEY) throw new ProcessorUnavailable();
  }

  /**
   * Records the outcome of the first call with this key, or replays the recorded one. A fresh
   * record of a tok_timeout source is the ambiguous case: the work is done, the caller hears a timeout.
   */
  private async record(draft: Omit<ProcessorRecord, 'createdAt' | 'expiresAt'>, sameRequest: (existing: ProcessorRecord) => boolean): Promise<ProcessorRecord> {
    const item = this.stamp(draft);
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: 'attribute_not_exists(#key)',
          ExpressionAttributeNames: { '#key': 'key' },
        }),
      );
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const existing = await this.get(draft.key);
      if (!existing) throw error;
      return this.replay(existing, sameRequest);
    }
    if (draft.source === 'tok_timeout') throw new ProcessorTimeout();
    return item;
  }

  private replay(existing: ProcessorRecord, sameRequest: (existing: ProcessorRecord) => boolean): ProcessorRecord {
    if (!sameRequest(existing)) throw new ProcessorIdempotencyMismatch(`Key ${existing.key} was used with different parameters`);
    return existing;
  }

  /** The result of a recorded outcome: the record itself when it succeeded, its error when it failed. */
  private resultOf(record: ProcessorRecord): ProcessorRecord {
    if (record.outcome === 'succeeded') return record;
    switch (record.failureType) {
      case 'PaymentDeclined':
        throw new PaymentDeclined(record.failureCode === 'insufficient_funds' ? 'insufficient_funds' : 'card_declined');
      case 'RefundFailed':
        throw new RefundFailed(record.failureCode);
      default:
        throw new CaptureFailed(record.failureCode);
    }
  }

  private stamp(draft: Omit<ProcessorRecord, 'createdAt' | 'expiresAt'>): ProcessorRecord {
    const createdAt = this.now().toISOString();
    const captured = draft.operation === 'capture' && draft.outcome === 'succeeded';
    return { ...draft, createdAt, expiresAt: this.expiresAt(), ...(captured ? { capturedDay: createdAt.slice(0, 10) } : {}) };
  }

  private expiresAt(): number {
    return Math.floor(this.now().getTime() / 1000) + RECORD_TTL_SECONDS;
  }

  private async get(key: string): Promise<ProcessorRecord | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { key }, ConsistentRead: true }));
    return Item as ProcessorRecord | undefined;
  }
}
