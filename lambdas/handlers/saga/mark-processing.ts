import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import type { PaymentSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);

/** pending → processing; returns the payment's terminal status instead when the saga has nothing left to do. */
export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const payment = await payments.markProcessing(state.paymentId, new Date().toISOString());
  logger.info('Payment saga started', { paymentId: payment.paymentId, status: payment.status });
  return { ...state, ...payment };
};
