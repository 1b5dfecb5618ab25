import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { requiredEnv } from '#commons/env';
import { logger, metrics } from '#commons/powertools';
import { toOutboxEvent } from '#domain/events';
import { errorCodeOf, isRefusedMessage, sendInGroupOrder, sendMessages, toSqsJson, type OutgoingMessage } from '#adapters/queue-publisher';

/**
 * The outbox relay: turns the Payments table's stream records into versioned events on the FIFO
 * events queue (group = payment id, so one payment's events stay in order; deduplication id = the
 * stream eventID, so a record relayed twice is one message).
 */
const eventsQueueUrl = requiredEnv('EVENTS_QUEUE_URL');
const deadLetterQueueUrl = requiredEnv('RELAY_DEAD_LETTER_QUEUE_URL');

const processor = new BatchProcessor(EventType.DynamoDBStreams);

export const handler = async (event: DynamoDBStreamEvent, context: Context) => {
  try {
    const outcomes = await relay(event.Records);
    return await processPartialResponse(
      event,
      async (record: DynamoDBRecord) => {
        const error = outcomes.get(keyOf(record));
        if (error) throw error;
      },
      processor,
      { context },
    );
  } finally {
    metrics.publishStoredMetrics();
  }
};

const keyOf = (record: DynamoDBRecord) => record.dynamodb?.SequenceNumber ?? record.eventID ?? '';

/**
 * Publishes the batch's events in stream order per payment and returns the failed records' errors.
 * A failed event fails every later record of its payment in this batch too (Lambda then retries
 * from the earliest failed record, and the records after it that were already sent are deduplicated
 * by their eventID), so a payment's events never overtake each other.
 *
 * A poison record does not block its shard: one that should be an event but cannot be built into
 * one, or whose event SQS refuses for what it is (a sender fault such as a message over the size
 * limit), goes whole to the relay's dead-letter queue, in the shape Lambda delivered it and with the
 * reason, so an operator can replay it through this function once the cause is fixed; it counts as
 * done. Retrying it could never succeed, and a shard blocked on it would delay every later payment
 * until the mapping's retries ran out and then dead-letter records that had been delivered.
 */
async function relay(records: readonly DynamoDBRecord[]): Promise<Map<string, Error>> {
  const events: OutgoingMessage[] = [];
  const poison: OutgoingMessage[] = [];
  const recordsByKey = new Map<string, DynamoDBRecord>();
  const isolate = (record: DynamoDBRecord, key: string, reason: string) => {
    logger.error('Stream record cannot be relayed; sending it to the dead-letter queue', { eventID: record.eventID, reason });
    poison.push({ key, body: toSqsJson(record), attributes: { origin: 'outbox-relay', reason: reason.slice(0, 1024) } });
  };
  for (const record of records) {
    const key = keyOf(record);
    recordsByKey.set(key, record);
    try {
      const outboxEvent = toOutboxEvent({
        eventId: record.eventID ?? '',
        eventName: record.eventName ?? '',
        oldImage: imageOf(record.dynamodb?.OldImage),
        newImage: imageOf(record.dynamodb?.NewImage),
      });
      if (outboxEvent) {
        events.push({ key, body: toSqsJson(outboxEvent), groupId: outboxEvent.paymentId, deduplicationId: outboxEvent.id });
      }
    } catch (error) {
      isolate(record, key, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
    }
  }
  const failures = await sendInGroupOrder(eventsQueueUrl, events);
  for (const [key, error] of failures) {
    if (!isRefusedMessage(error)) continue;
    failures.delete(key);
    isolate(recordsByKey.get(key)!, key, `SQS refused the event: ${error.message}`);
  }
  const poisonFailures = await sendMessages(deadLetterQueueUrl, poison);
  metrics.addMetric('OutboxEventsPublished', MetricUnit.Count, events.length - failures.size - (poison.length - poisonFailures.size));
  if (poison.length > 0) metrics.addMetric('OutboxPoisonRecords', MetricUnit.Count, poison.length);
  if (failures.size > 0) {
    const errors: Record<string, number> = {};
    for (const error of failures.values()) errors[errorCodeOf(error)] = (errors[errorCodeOf(error)] ?? 0) + 1;
    logger.warn('Some events were not published; they will be retried', { failed: failures.size, errors });
  }
  return new Map([...failures, ...poisonFailures]);
}

function imageOf(image: unknown): Record<string, unknown> | undefined {
  return image ? unmarshall(image as Record<string, AttributeValue>) : undefined;
}
