import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { relayOutbox } from '#application/relay-outbox';
import { changeOf, streamRecordKey } from '#adapters/dynamodb/stream-changes';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { metrics } from '#commons/powertools';

const relay = relayOutbox<DynamoDBRecord>({
  changeOf,
  keyOf: streamRecordKey,
  events: sqsQueueFromSettings('eventsQueueUrl'),
  deadLetters: sqsQueueFromSettings('relayDeadLetterQueueUrl'),
});
const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** The outbox relay: the batch is relayed as a whole (in order per payment); Lambda hears which records failed. */
export const handler = async (event: DynamoDBStreamEvent, context: Context) => {
  try {
    const failures = await relay(event.Records);
    return await processPartialResponse(event, async (record: DynamoDBRecord) => {
      const error = failures.get(streamRecordKey(record));
      if (error) throw error;
    }, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
