import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliverWebhook } from '#application/webhook-events';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { webhookSenderFromSettings } from '#adapters/http/webhook-sender';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { numberSetting } from '#commons/environment';
import { metrics } from '#commons/powertools';
import { DEFAULT_RETRY_SCHEDULE } from '#domain/webhooks';
import type { DeliveryRequest } from '#ports/webhook-deliveries';

const deliver = deliverWebhook({
  store: webhooksTableFromSettings(),
  sender: webhookSenderFromSettings(),
  deliveries: sqsQueueFromSettings('webhookDeliveryQueueUrl'),
  deadLetters: sqsQueueFromSettings('webhookDeadLetterQueueUrl'),
  schedule: {
    baseSeconds: numberSetting('webhookRetryBaseSeconds', DEFAULT_RETRY_SCHEDULE.baseSeconds),
    capSeconds: numberSetting('webhookRetryCapSeconds', DEFAULT_RETRY_SCHEDULE.capSeconds),
    windowSeconds: numberSetting('webhookRetryWindowSeconds', DEFAULT_RETRY_SCHEDULE.windowSeconds),
  },
});
const processor = new BatchProcessor(EventType.SQS);

/** The webhook dispatcher: one delivery attempt per message, in parallel; a message fails only when the store or a queue did. */
export const handler = async (event: SQSEvent, context: Context) => {
  try {
    return await processPartialResponse(event, async (record: SQSRecord) => {
      await deliver(JSON.parse(record.body) as DeliveryRequest);
    }, processor, { context, processInParallel: true });
  } finally {
    metrics.publishStoredMetrics();
  }
};
