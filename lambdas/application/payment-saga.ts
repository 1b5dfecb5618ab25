/**
 * The payment saga's steps (DESIGN §4), one per Lambda task: each takes the saga state and returns it
 * with its own result, and is built from only the ports it uses (each task's function is granted
 * only those). The order, retries and compensations are the state machine's.
 */
import { logger } from '#commons/powertools';
import { paymentFailureCode, processorKey, required, type PaymentSagaState } from '#domain/saga';
import type { SagaLedger } from '#ports/payments-store';
import type { PaymentProcessor } from '#ports/processor';
import type { CircuitBreaker } from '#application/circuit-breaker';

type Step = (state: PaymentSagaState) => Promise<PaymentSagaState>;
type Clock = () => Date;
const systemClock: Clock = () => new Date();

/** pending → processing; returns the payment's terminal status instead when the saga has nothing left to do. */
export const markProcessing = (ledger: SagaLedger, now = systemClock): Step => async (state) => {
  const { id, merchantId, amount, currency, source, status, requestId } = await ledger.markProcessing(state.paymentId, now().toISOString());
  logger.info('Payment saga started', { paymentId: id, status });
  // A saga started before events carried the request id still gets it from the payment, for the later steps.
  return { ...state, merchantId, amount, currency, source, status, ...(state.requestId || !requestId ? {} : { requestId }) };
};

/**
 * Authorization goes through the circuit breaker: while it is open nothing is sent and CircuitOpen
 * tells the state machine to wait (captures, voids and refunds of authorized payments never do).
 */
export const authorize = (processor: PaymentProcessor, breaker: CircuitBreaker): Step => async (state) => {
  const request = {
    key: processorKey(state.paymentId, 'authorize'),
    amount: required(state, 'amount'),
    currency: required(state, 'currency'),
    source: required(state, 'source'),
  };
  const { authorizationId } = await breaker.admit(() => processor.authorize(request));
  logger.info('Payment authorized', { paymentId: state.paymentId, authorizationId });
  return { ...state, authorizationId };
};

export const capture = (processor: PaymentProcessor, now = systemClock): Step => async (state) => {
  const { captureId } = await processor.capture({
    key: processorKey(state.paymentId, 'capture'),
    authorizationId: required(state, 'authorizationId'),
    amount: required(state, 'amount'),
  });
  logger.info('Payment captured', { paymentId: state.paymentId, captureId });
  return { ...state, captureId, capturedAt: now().toISOString() };
};

/** The capture's balanced posting and processing → succeeded, in one transaction. */
export const postLedger = (ledger: SagaLedger): Step => async (state) => {
  const outcome = await ledger.postCaptureLedger({
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

export const markFailed = (ledger: SagaLedger, now = systemClock): Step => async (state) => {
  const payment = await ledger.markFailed({ paymentId: state.paymentId, failureCode: paymentFailureCode(state), at: now().toISOString() });
  logger.info('Payment failed', { paymentId: state.paymentId, failureCode: payment.failureCode });
  return { ...state, status: 'failed', failureCode: payment.failureCode };
};

/** Compensation: cancel the authorization (reversing a capture whose outcome was unknown). */
export const voidAuthorization = (processor: PaymentProcessor): Step => async (state) => {
  await processor.void({ key: processorKey(state.paymentId, 'void'), authorizationId: state.authorizationId });
  logger.info('Authorization voided', { paymentId: state.paymentId, authorizationId: state.authorizationId });
  return { ...state, voided: true };
};

/** Compensation: the capture happened but the ledger refused it, so give the money back in full. */
export const refundCapture = (processor: PaymentProcessor): Step => async (state) => {
  const { refundId } = await processor.refund({
    key: processorKey(state.paymentId, 'refund'),
    captureId: state.captureId,
    paymentId: state.paymentId,
    amount: required(state, 'amount'),
  });
  logger.info('Capture refunded', { paymentId: state.paymentId, processorRefundId: refundId });
  return { ...state, processorRefundId: refundId };
};
