import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context, DynamoDBRecord, SQSEvent, SQSRecord } from 'aws-lambda';
import * as z from 'zod/mini';
import { requiredEnv } from '#commons/env';
import { logger, metrics } from '#commons/powertools';
import { isOutboxCandidate } from '#domain/events';
import { readStreamRange } from '#adapters/stream-reader';
import { sendMessages, type OutgoingMessage } from '#adapters/queue-publisher';

/**
 * The relay mapping's on-failure destination receives only a pointer into the stream (shard and
 * sequence-number range), and the stream keeps records for 24 hours. This function, on that
 * destination queue, reads the records the pointer names while they still exist and keeps them,
 * whole and in the shape Lambda delivers them, in the relay's dead-letter queue: the same place and
 * shape as the relay's own poison records, so one replay procedure (send the bodies back through the
 * relay as `{Records: [...]}`) covers both.
 *
 * (An S3 on-failure destination would store the whole invocation without code, but it adds a bucket
 * and a second place and shape for failed records; LocalStack's and our local mapping emulation
 * speak SQS destinations.)
 */
const deadLetterQueueUrl = requiredEnv('RELAY_DEAD_LETTER_QUEUE_URL');

const sequenceNumber = () => z.string().check(z.regex(/^\d+$/));
/** The on-failure invocation record of a stream mapping: metadata plus the pointer into the stream. */
const failureRecordSchema = z.object({
  requestContext: z.optional(z.looseObject({ condition: z.optional(z.string()) })),
  timestamp: z.optional(z.string()),
  DDBStreamBatchInfo: z.object({
    shardId: z.string().check(z.minLength(1)),
    startSequenceNumber: sequenceNumber(),
    endSequenceNumber: sequenceNumber(),
    streamArn: z.string().check(z.minLength(1)),
    batchSize: z.optional(z.number()),
  }),
});

const processor = new BatchProcessor(EventType.SQS);

async function keepFailedBatch(message: SQSRecord): Promise<void> {
  const failure = failureRecordSchema.parse(JSON.parse(message.body));
  const batch = failure.DDBStreamBatchInfo;
  const condition = failure.requestContext?.condition ?? 'unknown';
  let records: DynamoDBRecord[];
  try {
    records = await readStreamRange(batch);
  } catch (error) {
    if (!isGone(error)) throw error;
    // The stream has trimmed them: nothing left to read. Keep the pointer so the loss is visible.
    logger.error('Failed stream records are no longer in the stream', { batch, condition });
    metrics.addMetric('OutboxFailedRecordsLost', MetricUnit.Count, batch.batchSize ?? 1);
    await sendOrThrow([{ key: message.messageId, body: message.body, attributes: { origin: 'outbox-failure-keeper', reason: 'records-no-longer-in-stream' } }]);
    return;
  }
  const kept: OutgoingMessage[] = records
    .filter((record) => isOutboxCandidate(record.eventName ?? '', record.dynamodb?.NewImage?.entity?.S))
    .map((record) => ({
      key: record.dynamodb?.SequenceNumber ?? record.eventID ?? '',
      body: JSON.stringify(record),
      attributes: { origin: 'outbox-failure-keeper', reason: condition, failedAt: failure.timestamp ?? message.attributes.SentTimestamp },
    }));
  await sendOrThrow(kept);
  logger.info('Kept failed stream records', { batch, condition, kept: kept.length });
  metrics.addMetric('OutboxFailedRecordsKept', MetricUnit.Count, kept.length);
}

async function sendOrThrow(messages: OutgoingMessage[]): Promise<void> {
  const failures = await sendMessages(deadLetterQueueUrl, messages);
  const first = failures.values().next();
  if (!first.done) throw first.value;
}

const isGone = (error: unknown) =>
  error instanceof Error && (error.name === 'TrimmedDataAccessException' || error.name === 'ResourceNotFoundException');

export const handler = async (event: SQSEvent, context: Context) => {
  try {
    return await processPartialResponse(event, keepFailedBatch, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
