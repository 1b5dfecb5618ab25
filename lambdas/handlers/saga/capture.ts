import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { processorFromEnvironment } from '#adapters/simulated-processor';
import { processorKey, required, type PaymentSagaState } from '#domain/saga';

const processor = processorFromEnvironment(documentClient);

export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const { captureId } = await processor.capture({
    key: processorKey(state.paymentId, 'capture'),
    authorizationId: required(state, 'authorizationId'),
    amount: required(state, 'amount'),
  });
  logger.info('Payment captured', { paymentId: state.paymentId, captureId });
  return { ...state, captureId, capturedAt: new Date().toISOString() };
};
