import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import { required, type RefundSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);

/** The refund's balanced posting, refund → succeeded and the payment's refunded total, in one transaction. */
export const handler = async (state: RefundSagaState): Promise<RefundSagaState> => {
  const outcome = await payments.postRefundLedger({ paymentId: state.paymentId, refundId: state.refundId, postedAt: required(state, 'refundedAt') });
  logger.info('Refund posted to the ledger', { paymentId: state.paymentId, refundId: state.refundId, outcome });
  return { ...state, status: 'succeeded' };
};
