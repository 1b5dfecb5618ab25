import type { Context } from 'aws-lambda';
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyConfig,
  IdempotencyInconsistentStateError,
  IdempotencyValidationError,
  makeIdempotent,
} from '@aws-lambda-powertools/idempotency';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { dynamodb } from '#commons/dynamodb';
import { numberSetting, setting } from '#commons/environment';
import { jsonResponse, type HttpResult } from '#commons/http';
import { logger, metrics } from '#commons/powertools';
import { idempotencyKeyInUse, idempotencyKeyReused } from '#contract/errors';
import { IDEMPOTENT_REPLAYED_HEADER } from '#contract/headers';

/** What an idempotent API operation receives: the key is (merchant, Idempotency-Key); `body` is what must match on a retry. */
export interface IdempotentRequest<Body> {
  merchantId: string;
  idempotencyKey: string;
  body: Body;
  /** The API request id (API Gateway's requestContext.requestId): stored on what the request creates, never part of the key or the validated payload. */
  requestId?: string;
}

/**
 * One key space for every idempotent operation of the API: a key names one request of a merchant,
 * whatever its route (as Stripe's keys and draft-ietf-httpapi-idempotency-key-header do). Records are
 * `payflow.api#<sha256 of [merchantId, key]>`.
 */
export const IDEMPOTENCY_KEY_PREFIX = 'payflow.api';

/** What Powertools hashes into the record key and into the validated payload. */
interface IdempotentCall<Body> extends IdempotentRequest<Body> {
  /** The operation (route) the key was first used on: part of what a retry must match. */
  operation: string;
}

export type IdempotentOperation<Body> = (request: IdempotentRequest<Body>, context: Context) => Promise<HttpResult>;

export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;
/** The in-progress lock lives as long as the invocation holding it; a second is a fair first wait. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

/** Marks a result as a replay of an earlier one (same status and body bytes). */
export function markReplayed(result: HttpResult): HttpResult {
  return { ...result, headers: { ...result.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' } };
}

/**
 * The 201 of a create operation. `replayed`: the resource existed already for this key (a retry that
 * outlived its idempotency record), so it is answered as a replay and counted as one.
 */
export function createdResponse(createdMetric: string, view: unknown, replayed: boolean, headers: Record<string, string> = {}): HttpResult {
  metrics.addMetric(replayed ? 'IdempotentReplay' : createdMetric, MetricUnit.Count, 1);
  const response = jsonResponse(201, view, headers);
  return replayed ? markReplayed(response) : response;
}

/**
 * Makes an API operation idempotent with Powertools on the idempotency table (DESIGN §2):
 * the record key is a hash of [merchantId, idempotencyKey] under one prefix shared by every operation
 * (IDEMPOTENCY_KEY_PREFIX), the operation and the normalized body are validated on every retry — so a
 * key first used to create a payment and then sent to create a refund (or the other way round, or to
 * refund another payment) is 422 idempotency_key_reused — and the stored value is the complete HTTP
 * result, so a replay returns the same status and body bytes plus `Idempotent-Replayed: true`.
 * Errors thrown by `operation` are not remembered (Powertools deletes the in-progress record).
 * Translates Powertools' errors: another operation or body → 422 idempotency_key_reused; a request
 * still in flight → 409 idempotency_key_in_use with Retry-After. `operationName` is stored in every
 * record's validation hash: renaming it makes retries of requests from before the change 422.
 */
export function idempotentOperation<Body>(
  operationName: string,
  operation: (request: IdempotentRequest<Body>) => Promise<HttpResult>,
): IdempotentOperation<Body> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: '[merchantId, idempotencyKey]',
    payloadValidationJmesPath: '[operation, body]',
    throwOnNoIdempotencyKey: true,
    hashFunction: 'sha256',
    expiresAfterSeconds: numberSetting('idempotencyTtlSeconds', DEFAULT_IDEMPOTENCY_TTL_SECONDS),
    responseHook: (response) => {
      metrics.addMetric('IdempotentReplay', MetricUnit.Count, 1);
      logger.info('Idempotent replay');
      return markReplayed(response as unknown as HttpResult) as unknown as typeof response;
    },
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: setting('idempotencyTable'),
    awsSdkV3Client: dynamodb,
  });
  const idempotent = makeIdempotent(
    // A stored value containing `undefined` would fail to save and leave the key in progress.
    async ({ merchantId, idempotencyKey, body, requestId }: IdempotentCall<Body>) =>
      withoutUndefined(await operation({ merchantId, idempotencyKey, body, ...(requestId ? { requestId } : {}) })),
    { persistenceStore, config, keyPrefix: IDEMPOTENCY_KEY_PREFIX },
  );

  return async (request, context) => {
    // Lets the in-progress lock expire with this invocation if it dies mid-way.
    config.registerLambdaContext(context);
    try {
      return await idempotent({ ...request, operation: operationName });
    } catch (error) {
      if (error instanceof IdempotencyValidationError) throw idempotencyKeyReused();
      if (error instanceof IdempotencyAlreadyInProgressError || error instanceof IdempotencyInconsistentStateError) {
        metrics.addMetric('IdempotencyKeyInUse', MetricUnit.Count, 1);
        throw idempotencyKeyInUse(IN_PROGRESS_RETRY_AFTER_SECONDS);
      }
      throw error;
    }
  };
}

function withoutUndefined(result: HttpResult): HttpResult {
  return JSON.parse(JSON.stringify(result)) as HttpResult;
}
