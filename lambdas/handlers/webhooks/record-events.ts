import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { recordEvents } from '#application/webhook-events';
import { changeOf, streamRecordKey } from '#adapters/dynamodb/stream-changes';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { metrics } from '#commons/powertools';
import { toPaymentView, toRefundView } from '#contract/resources';

const record = recordEvents<DynamoDBRecord>({
  changeOf,
  keyOf: streamRecordKey,
  viewOf: (change) => (change.refundId ? toRefundView(change.data as unknown as Parameters<typeof toRefundView>[0]) : toPaymentView(change.data as unknown as Parameters<typeof toPaymentView>[0])),
  store: webhooksTableFromSettings(),
  deliveries: sqsQueueFromSettings('webhookDeliveryQueueUrl'),
});
const processor = new BatchProcessor(EventType.DynamoDBStreams);

/** The event recorder: the Payments table's second stream consumer (the relay is the first). */
export const handler = async (event: DynamoDBStreamEvent, context: Context) => {
  try {
    const failures = await record(event.Records);
    return await processPartialResponse(event, async (streamRecord: DynamoDBRecord) => {
      const error = failures.get(streamRecordKey(streamRecord));
      if (error) throw error;
    }, processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
