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
import { numberEnv, requiredEnv } from '#commons/env';
import type { HttpResult } from '#commons/http';
import { logger, metrics } from '#commons/powertools';
import { idempotencyKeyInUse, idempotencyKeyReused } from '#domain/errors';

/** What an idempotent API operation receives: the key is (merchant, Idempotency-Key); `body` is what must match on a retry. */
export interface IdempotentRequest<Body> {
  merchantId: string;
  idempotencyKey: string;
  body: Body;
}

export type IdempotentOperation<Body> = (request: IdempotentRequest<Body>, context: Context) => Promise<HttpResult>;

export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;
/** The in-progress lock lives as long as the invocation holding it; a second is a fair first wait. */
const IN_PROGRESS_RETRY_AFTER_SECONDS = 1;

/** Marks a result as a replay of an earlier one (same status and body bytes). */
export function markReplayed(result: HttpResult): HttpResult {
  return { ...result, headers: { ...result.headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' } };
}

/**
 * Makes an API operation idempotent with Powertools on the idempotency table (DESIGN §2):
 * the record key is a hash of [merchantId, idempotencyKey] under a per-operation prefix, the
 * normalized body is validated on every retry, and the stored value is the complete HTTP result, so a
 * replay returns the same status and body bytes plus `Idempotent-Replayed: true`.
 * Errors thrown by `operation` are not remembered (Powertools deletes the in-progress record).
 * Translates Powertools' errors: a different body → 422 idempotency_key_reused; a request still in
 * flight → 409 idempotency_key_in_use with Retry-After.
 */
export function idempotentOperation<Body>(
  operationName: string,
  operation: (request: IdempotentRequest<Body>) => Promise<HttpResult>,
): IdempotentOperation<Body> {
  const config = new IdempotencyConfig({
    eventKeyJmesPath: '[merchantId, idempotencyKey]',
    payloadValidationJmesPath: 'body',
    throwOnNoIdempotencyKey: true,
    hashFunction: 'sha256',
    expiresAfterSeconds: numberEnv('IDEMPOTENCY_TTL_SECONDS', DEFAULT_IDEMPOTENCY_TTL_SECONDS),
    responseHook: (response) => {
      metrics.addMetric('IdempotentReplay', MetricUnit.Count, 1);
      logger.info('Idempotent replay');
      return markReplayed(response as unknown as HttpResult) as unknown as typeof response;
    },
  });
  const persistenceStore = new DynamoDBPersistenceLayer({
    tableName: requiredEnv('IDEMPOTENCY_TABLE_NAME'),
    awsSdkV3Client: dynamodb,
  });
  const idempotent = makeIdempotent(
    // A stored value containing `undefined` would fail to save and leave the key in progress.
    async (request: IdempotentRequest<Body>) => withoutUndefined(await operation(request)),
    { persistenceStore, config, keyPrefix: `payflow.${operationName}` },
  );

  return async (request, context) => {
    // Lets the in-progress lock expire with this invocation if it dies mid-way.
    config.registerLambdaContext(context);
    try {
      return await idempotent(request);
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
