import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import { required, type PaymentSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);

/** The capture's balanced posting and processing → succeeded, in one transaction. */
export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const outcome = await payments.postCaptureLedger({
    paymentId: state.paymentId,
    merchantId: required(state, 'merchantId'),
    amount: required(state, 'amount'),
    currency: required(state, 'currency'),
    authorizationId: state.authorizationId,
    postedAt: required(state, 'capturedAt'),
  });
  logger.info('Capture posted to the ledger', { paymentId: state.paymentId, outcome });
  return { ...state, status: 'succeeded' };
};
