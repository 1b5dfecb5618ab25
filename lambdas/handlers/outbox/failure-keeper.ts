import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { keepFailedRecords } from '#application/keep-failed-records';
import { describeStreamRecord, readStreamRange } from '#adapters/dynamodb/stream-reader';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { metrics } from '#commons/powertools';

const keep = keepFailedRecords({ readRange: readStreamRange, describe: describeStreamRecord, deadLetters: sqsQueueFromSettings('relayDeadLetterQueueUrl') });
const processor = new BatchProcessor(EventType.SQS);

/** On the relay mapping's on-failure destination: keeps the failed stream records whole for replay. */
export const handler = async (event: SQSEvent, context: Context) => {
  try {
    return await processPartialResponse(event, (message: SQSRecord) =>
      keep({ id: message.messageId, body: message.body, sentAt: message.attributes.SentTimestamp }), processor, { context });
  } finally {
    metrics.publishStoredMetrics();
  }
};
