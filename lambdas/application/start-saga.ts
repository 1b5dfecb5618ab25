import { withCorrelation } from '#commons/correlation';
import { logger } from '#commons/powertools';
import { parseOutboxEvent } from '#domain/outbox-event-parsing';
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
    await withCorrelation('start-saga', { paymentId: event.paymentId, refundId: event.refundId, requestId: event.requestId }, async () => {
      const start = sagaStartForEvent(event);
      if (!start) {
        logger.info('Event needs no saga', { eventId: event.id, type: event.type });
        return;
      }
      const started = await starter.start(start);
      logger.info(started.alreadyExisted ? 'Saga was already started' : 'Saga started', { eventId: event.id, type: event.type, executionArn: started.executionArn });
    });
  };
}
