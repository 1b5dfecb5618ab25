import { logger } from '#commons/powertools';
import { parseOutboxEvent } from '#domain/events';
import { sagaStartForEvent } from '#domain/saga-starts';
import type { SagaStarter } from '#ports/saga-starter';

/**
 * Starts the saga an event asks for: payment.created → payment saga, refund.created → refund saga;
 * every other event needs nothing. A message that is not an event throws (MalformedEventError), so
 * the queue's redrive policy moves it to the dead-letter queue after its receive count.
 */
export function startSagaForEvent(starter: SagaStarter) {
  return async (messageBody: string): Promise<void> => {
    const event = parseOutboxEvent(messageBody);
    const start = sagaStartForEvent(event);
    if (!start) return;
    const started = await starter.start(start);
    logger.info(started.alreadyExisted ? 'Saga was already started' : 'Saga started', { eventId: event.id, type: event.type, executionArn: started.executionArn });
  };
}
