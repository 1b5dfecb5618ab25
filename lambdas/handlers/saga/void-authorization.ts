import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { processorFromEnvironment } from '#adapters/simulated-processor';
import { processorKey, type PaymentSagaState } from '#domain/saga';

const processor = processorFromEnvironment(documentClient);

/** Compensation: cancel the authorization (reversing a capture whose outcome was unknown). */
export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  await processor.void({ key: processorKey(state.paymentId, 'void'), authorizationId: state.authorizationId });
  logger.info('Authorization voided', { paymentId: state.paymentId, authorizationId: state.authorizationId });
  return { ...state, voided: true };
};
