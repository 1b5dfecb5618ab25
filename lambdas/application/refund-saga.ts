/** The refund saga's steps (DESIGN §4): refund at the processor, then post it or release the reservation. */
import { logger } from '#commons/powertools';
import { processorKey, refundFailureCode, required, type RefundSagaState } from '#domain/saga';
import type { SagaLedger } from '#ports/payments-store';
import type { PaymentProcessor } from '#ports/processor';

type Step = (state: RefundSagaState) => Promise<RefundSagaState>;
const systemClock = () => new Date();

/**
 * Refunds a pending refund at the processor; a refund that is no longer pending (a late or repeated start) is
 * returned with its status, nothing sent, and PostRefundLedger passes it on untouched.
 */
export const refundAtProcessor = (ledger: SagaLedger, processor: PaymentProcessor, now = systemClock): Step => async (state) => {
  const { paymentId, id: refundId, merchantId, amount, currency, status, requestId } = await ledger.loadRefund(state.paymentId, state.refundId);
  const loaded = { ...state, paymentId, refundId, merchantId, amount, currency, status, ...(state.requestId || !requestId ? {} : { requestId }) };
  if (status !== 'pending') return loaded;
  const { refundId: processorRefundId } = await processor.refund({ key: processorKey(refundId, 'refund'), paymentId, amount });
  logger.info('Refund sent to the processor', { paymentId, refundId, processorRefundId });
  return { ...loaded, processorRefundId, refundedAt: now().toISOString() };
};

/** The refund's balanced posting, refund → succeeded and the payment's refunded total, in one transaction. */
export const postRefundLedger = (ledger: SagaLedger): Step => async (state) => {
  if (required(state, 'status') !== 'pending') return state;
  const outcome = await ledger.postRefundLedger({ paymentId: state.paymentId, refundId: state.refundId, postedAt: required(state, 'refundedAt') });
  logger.info('Refund posted to the ledger', { paymentId: state.paymentId, refundId: state.refundId, outcome });
  return { ...state, status: 'succeeded' };
};

/** Compensation: the processor refused the refund, so it fails and its reserved amount is refundable again. */
export const releaseRefund = (ledger: SagaLedger, now = systemClock): Step => async (state) => {
  const failureCode = refundFailureCode(state);
  const outcome = await ledger.releaseRefund({ paymentId: state.paymentId, refundId: state.refundId, failureCode, at: now().toISOString() });
  logger.info('Refund released', { paymentId: state.paymentId, refundId: state.refundId, failureCode, outcome });
  return { ...state, status: 'failed', failureCode };
};
