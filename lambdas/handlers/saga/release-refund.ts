import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import { refundFailureCode, type RefundSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);

/** Compensation: the processor refused the refund, so it fails and its reserved amount is refundable again. */
export const handler = async (state: RefundSagaState): Promise<RefundSagaState> => {
  const failureCode = refundFailureCode(state);
  const outcome = await payments.releaseRefund({ paymentId: state.paymentId, refundId: state.refundId, failureCode, at: new Date().toISOString() });
  logger.info('Refund released', { paymentId: state.paymentId, refundId: state.refundId, failureCode, outcome });
  return { ...state, status: 'failed', failureCode };
};
