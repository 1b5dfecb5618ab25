import { MetricUnit } from '@aws-lambda-powertools/metrics';
import * as z from 'zod/mini';
import { logger, metrics } from '#commons/powertools';
import { isOutboxCandidate } from '#domain/events';
import { StreamRecordsGone, type StreamRange } from '#ports/outbox-stream';
import type { OutboundQueue } from '#ports/queues';

export interface KeepFailedRecordsDependencies<StreamRecord> {
  /** The records of the range, in the shape the relay is invoked with; throws StreamRecordsGone when the stream has trimmed them. */
  readRange(range: StreamRange): Promise<StreamRecord[]>;
  /** What the outbox filter needs of a record, and what identifies it. */
  describe(record: StreamRecord): { eventName: string; entity: string | undefined; key: string };
  /** The relay's dead-letter queue. */
  deadLetters: OutboundQueue;
}

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

/**
 * The relay mapping's on-failure destination receives only a pointer into the stream (shard and
 * sequence-number range), and the stream keeps records for 24 hours. This reads the records the
 * pointer names while they still exist and keeps them, whole and in the shape the relay is invoked
 * with, in the relay's dead-letter queue: the same place and shape as the relay's own poison records,
 * so one replay procedure (send the bodies back through the relay as `{Records: [...]}`) covers both.
 */
export function keepFailedRecords<StreamRecord>({ readRange, describe, deadLetters }: KeepFailedRecordsDependencies<StreamRecord>) {
  const sendOrThrow = async (messages: Parameters<OutboundQueue['send']>[0]) => {
    const first = (await deadLetters.send(messages)).values().next();
    if (!first.done) throw first.value;
  };
  return async (message: { id: string; body: string; sentAt?: string }): Promise<void> => {
    const pointer: unknown = JSON.parse(message.body);
    const failure = failureRecordSchema.parse(pointer);
    const batch = failure.DDBStreamBatchInfo;
    const condition = failure.requestContext?.condition ?? 'unknown';
    let records: StreamRecord[];
    try {
      records = await readRange(batch);
    } catch (error) {
      if (!(error instanceof StreamRecordsGone)) throw error;
      // Nothing left to read. Keep the pointer so the loss is visible.
      logger.error('Failed stream records are no longer in the stream', { batch, condition });
      metrics.addMetric('OutboxFailedRecordsLost', MetricUnit.Count, batch.batchSize ?? 1);
      await sendOrThrow([{ key: message.id, payload: pointer, attributes: { origin: 'outbox-failure-keeper', reason: 'records-no-longer-in-stream' } }]);
      return;
    }
    const failedAt = failure.timestamp ?? message.sentAt;
    const kept = records
      .map((record) => ({ record, ...describe(record) }))
      .filter(({ eventName, entity }) => isOutboxCandidate(eventName, entity))
      .map(({ record, key }) => ({ key, payload: record, attributes: { origin: 'outbox-failure-keeper', reason: condition, ...(failedAt ? { failedAt } : {}) } }));
    await sendOrThrow(kept);
    logger.info('Kept failed stream records', { batch, condition, kept: kept.length });
    metrics.addMetric('OutboxFailedRecordsKept', MetricUnit.Count, kept.length);
  };
}
