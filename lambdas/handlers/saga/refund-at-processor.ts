import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { sagaRepositoryFromEnvironment } from '#adapters/saga-repository';
import { processorFromEnvironment } from '#adapters/simulated-processor';
import { processorKey, type RefundSagaState } from '#domain/saga';

const payments = sagaRepositoryFromEnvironment(documentClient);
const processor = processorFromEnvironment(documentClient);

/** Refunds a pending refund at the processor; a refund that is no longer pending is returned untouched (nothing left to do). */
export const handler = async (state: RefundSagaState): Promise<RefundSagaState> => {
  const refund = await payments.loadRefund(state.paymentId, state.refundId);
  if (refund.status !== 'pending') return { ...state, ...refund };
  const { refundId: processorRefundId } = await processor.refund({
    key: processorKey(refund.refundId, 'refund'),
    paymentId: refund.paymentId,
    amount: refund.amount,
  });
  logger.info('Refund sent to the processor', { paymentId: refund.paymentId, refundId: refund.refundId, processorRefundId });
  return { ...state, ...refund, processorRefundId, refundedAt: new Date().toISOString() };
};
