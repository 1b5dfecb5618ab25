import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { deliverWebhook, type DeliveryRequest } from '#application/webhook-events';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { webhookSenderFromSettings } from '#adapters/http/webhook-sender';
import { kmsEnvelopeCipherFromSettings } from '#adapters/kms/envelope-cipher';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { numberSetting } from '#commons/environment';
import { metrics } from '#commons/powertools';

const deliver = deliverWebhook({
  // Signs with the endpoints' secrets: KMS Decrypt of their data keys, cached per container.
  store: webhooksTableFromSettings(kmsEnvelopeCipherFromSettings()),
  sender: webhookSenderFromSettings(),
  // Sent to only when a delivery fails (a retry, or the dead letter once the retry window is over).
  deliveries: sqsQueueFromSettings('webhookDeliveryQueueUrl', { clientOnFirstUse: true }),
  deadLetters: sqsQueueFromSettings('webhookDeadLetterQueueUrl', { clientOnFirstUse: true }),
  schedule: {
    baseSeconds: numberSetting('webhookRetryBaseSeconds', Number.NaN),
    capSeconds: numberSetting('webhookRetryCapSeconds', Number.NaN),
    windowSeconds: numberSetting('webhookRetryWindowSeconds', Number.NaN),
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
