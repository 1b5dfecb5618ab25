import { documentClient } from '#commons/dynamodb';
import { logger } from '#commons/powertools';
import { processorFromEnvironment } from '#adapters/simulated-processor';
import { processorKey, required, type PaymentSagaState } from '#domain/saga';

const processor = processorFromEnvironment(documentClient);

/** Compensation: the capture happened but the ledger refused it, so give the money back in full. */
export const handler = async (state: PaymentSagaState): Promise<PaymentSagaState> => {
  const { refundId } = await processor.refund({
    key: processorKey(state.paymentId, 'refund'),
    captureId: state.captureId,
    paymentId: state.paymentId,
    amount: required(state, 'amount'),
  });
  logger.info('Capture refunded', { paymentId: state.paymentId, processorRefundId: refundId });
  return { ...state, processorRefundId: refundId };
};
