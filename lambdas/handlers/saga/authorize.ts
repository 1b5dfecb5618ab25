import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { processorFromEnvironment } from '#adapters/simulated-processor';
import { processorKey, required, type PaymentSagaState } from '#domain/saga';

const processor = processorFromEnvironment(documentClient);

export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const { authorizationId } = await processor.authorize({
    key: processorKey(state.paymentId, 'authorize'),
    amount: required(state, 'amount'),
    currency: required(state, 'currency'),
    source: required(state, 'source'),
  });
  logger.info('Payment authorized', { paymentId: state.paymentId, authorizationId });
  return { ...state, authorizationId };
};
