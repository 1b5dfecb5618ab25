import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import { paymentFailureCode, type PaymentSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);

export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const failureCode = paymentFailureCode(state);
  const payment = await payments.markFailed({ paymentId: state.paymentId, failureCode, at: new Date().toISOString() });
  logger.info('Payment failed', { paymentId: state.paymentId, failureCode: payment.failureCode });
  return { ...state, status: 'failed', failureCode: payment.failureCode };
};
