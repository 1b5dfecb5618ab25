import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withCorrelation } from '#commons/correlation';
import { logger, metrics } from '#commons/powertools';
import { toOutboxEvent, type EntityChange, type OutboxEvent } from '#domain/events';
import { MessageRefused, errorCodeOf, type OutboundQueue, type OutgoingMessage } from '#ports/queues';

export interface RelayOutboxDependencies<StreamRecord> {
  /** The change a record stands for; throws when it cannot be read. */
  changeOf(record: StreamRecord): EntityChange;
  /** What identifies a record within its batch. */
  keyOf(record: StreamRecord): string;
  /** The FIFO events queue: group = payment id, deduplication id = the change's event id. */
  events: OutboundQueue;
  /** Where a record that can never be relayed goes whole, with the reason, for an operator to replay. */
  deadLetters: OutboundQueue;
}

/**
 * The outbox relay (DESIGN §3): publishes the batch's events in stream order per payment and
 * returns the failed records' errors by key. A failed event fails every later record of its payment
 * in this batch too (the batch is retried from the earliest failed record, and the records after it
 * that were already sent are deduplicated by their event id), so a payment's events never overtake
 * each other.
 *
 * A poison record does not block its shard: one that should be an event but cannot be built into
 * one, or whose event the queue refuses for what it is (a message over the size limit), goes whole to
 * the dead-letter queue, in the shape it was delivered and with the reason, so an operator can replay
 * it once the cause is fixed; it counts as done. Retrying it could never succeed, and a shard blocked
 * on it would delay every later payment until the retries ran out and then dead-letter records that
 * had been delivered.
 */
export function relayOutbox<StreamRecord>({ changeOf, keyOf, events, deadLetters }: RelayOutboxDependencies<StreamRecord>) {
  return async (records: readonly StreamRecord[]): Promise<Map<string, Error>> => {
    const outgoing: OutgoingMessage[] = [];
    const eventsByKey = new Map<string, OutboxEvent>();
    const poison: OutgoingMessage[] = [];
    const recordsByKey = new Map<string, StreamRecord>();
    const isolate = (record: StreamRecord, key: string, reason: string) => {
      logger.error('Stream record cannot be relayed; sending it to the dead-letter queue', { key, reason });
      poison.push({ key, payload: record, attributes: { origin: 'outbox-relay', reason: reason.slice(0, 1024) } });
    };
    for (const record of records) {
      const key = keyOf(record);
      recordsByKey.set(key, record);
      try {
        const event = toOutboxEvent(changeOf(record));
        if (event) {
          outgoing.push({ key, payload: event, groupId: event.paymentId, deduplicationId: event.id });
          eventsByKey.set(key, event);
        }
      } catch (error) {
        isolate(record, key, error instanceof Error ? `${error.name}: ${error.message}` : String(error));
      }
    }
    const failures = await events.sendInGroupOrder(outgoing);
    for (const [key, error] of failures) {
      if (!(error instanceof MessageRefused)) continue;
      failures.delete(key);
      isolate(recordsByKey.get(key)!, key, `SQS refused the event: ${error.message}`);
    }
    const poisonFailures = await deadLetters.send(poison);
    // One line per event relayed, with its payment's (or refund's) request id: the relay's part of its history.
    const isolated = new Set(poison.map((message) => message.key));
    for (const { key } of outgoing) {
      const event = eventsByKey.get(key)!;
      if (failures.has(key) || isolated.has(key)) continue;
      await withCorrelation('relay', { paymentId: event.paymentId, refundId: event.refundId, requestId: event.requestId }, async () =>
        logger.info('Event relayed', { type: event.type, eventId: event.id }),
      );
    }
    metrics.addMetric('OutboxEventsPublished', MetricUnit.Count, outgoing.length - failures.size - (poison.length - poisonFailures.size));
    if (poison.length > 0) metrics.addMetric('OutboxPoisonRecords', MetricUnit.Count, poison.length);
    if (failures.size > 0) {
      const errors: { [code: string]: number } = {};
      for (const error of failures.values()) errors[errorCodeOf(error)] = (errors[errorCodeOf(error)] ?? 0) + 1;
      logger.warn('Some events were not published; they will be retried', { failed: failures.size, errors });
    }
    return new Map([...failures, ...poisonFailures]);
  };
}
