import { SqsFifoPartialProcessorAsync, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { Context, SQSEvent, SQSRecord } from 'aws-lambda';
import { logger } from '#commons/powertools';
import { parseOutboxEvent } from '#domain/events';
import { sagaStartForEvent } from '#domain/saga-starts';
import { startSaga } from '#adapters/saga-starter';

/**
 * Starts the saga an event asks for: payment.created -> payment saga, refund.created -> refund saga;
 * every other event is acknowledged without action. A message that is not an event throws, so the
 * queue's redrive policy moves it to the dead-letter queue after maxReceiveCount receives.
 */
const processor = new SqsFifoPartialProcessorAsync();

async function startSagaFor(record: SQSRecord): Promise<void> {
  const event = parseOutboxEvent(record.body);
  const start = sagaStartForEvent(event);
  if (!start) return;
  const started = await startSaga(start);
  logger.info(started.alreadyExisted ? 'Saga was already started' : 'Saga started', {
    eventId: event.id,
    type: event.type,
    executionArn: started.executionArn,
  });
}

// skipGroupOnError: a failed message fails the rest of its payment's messages in this batch (their
// order holds) while other payments' messages go on.
export const handler = async (event: SQSEvent, context: Context) =>
  processPartialResponse(event, startSagaFor, processor, { context, skipGroupOnError: true });
