/**
 * The payment saga's steps (DESIGN §4), one per Lambda task: each takes the saga state and returns it
 * with its own result, and is built from only the ports it uses (each task's function is granted
 * only those). The order, retries and compensations are the state machine's.
 */
import { logger } from '#commons/powertools';
import { isSagaTerminal, type Payment } from '#domain/payment';
import { PaymentUnreadable, paymentFailureCode, processorKey, required, type PaymentSagaState } from '#domain/saga';
import { PaymentNotFound, type SagaLedger } from '#ports/payments-store';
import type { PaymentProcessor } from '#ports/processor';
import type { CircuitBreaker } from '#application/circuit-breaker';

type Step = (state: PaymentSagaState) => Promise<PaymentSagaState>;
type Clock = () => Date;
const systemClock: Clock = () => new Date();

/**
 * The saga's first step. It reads the payment first (a consistent read: one read unit, no write, no state
 * of its own), because a start may come late or twice (Express starts at least once, under any name; a
 * redrive or a restart after Standard's 90-day name retention starts again): a payment that is already settled is returned with its
 * status and nothing is sent, for the processor keeps idempotency keys only so long (Stripe: 24 hours) and a
 * late authorization could charge again. The later steps pass such a state on untouched. The read also gives
 * them what they need (merchant, amount, currency, source), so a saga's input is only the payment's id.
 *
 * The authorization goes through the circuit breaker: while it is open nothing is sent and CircuitOpen
 * tells the state machine to wait (captures, voids and refunds of authorized payments never do).
 */
export const authorize = (ledger: SagaLedger, processor: PaymentProcessor, breaker: CircuitBreaker): Step => async (state) => {
  const { merchantId, amount, currency, source, status, requestId } = await paymentToSettle(ledger, state.paymentId);
  // A saga started before events carried the request id still gets it from the payment, for the later steps.
  const loaded: PaymentSagaState = { ...state, merchantId, amount, currency, source, status, ...(state.requestId || !requestId ? {} : { requestId }) };
  if (isSettled(loaded)) {
    logger.info('Payment saga has nothing left to do', { paymentId: state.paymentId, status });
    return loaded;
  }
  const { authorizationId } = await breaker.admit(() => processor.authorize({ key: processorKey(state.paymentId, 'authorize'), amount, currency, source }));
  logger.info('Payment authorized', { paymentId: state.paymentId, authorizationId });
  return { ...loaded, authorizationId };
};

/** The payment, read before anything is sent: missing is PaymentNotFound; any other failure is PaymentUnreadable (nothing happened). */
async function paymentToSettle(ledger: SagaLedger, paymentId: string): Promise<Payment> {
  try {
    return await ledger.loadPayment(paymentId);
  } catch (error) {
    if (error instanceof PaymentNotFound) throw error;
    throw new PaymentUnreadable(`Payment ${paymentId} could not be read: ${error instanceof Error ? error.name : String(error)}`, { cause: error });
  }
}

/** Authorize found the payment already settled (a late or repeated start): every later step has nothing to do. */
const isSettled = (state: PaymentSagaState) => state.status !== undefined && isSagaTerminal(state.status);

export const capture = (processor: PaymentProcessor, now = systemClock): Step => async (state) => {
  if (isSettled(state)) return state;
  const { captureId } = await processor.capture({
    key: processorKey(state.paymentId, 'capture'),
    authorizationId: required(state, 'authorizationId'),
    amount: required(state, 'amount'),
  });
  logger.info('Payment captured', { paymentId: state.paymentId, captureId });
  return { ...state, captureId, capturedAt: now().toISOString() };
};

/** The capture's balanced posting and pending → succeeded, in one transaction. */
export const postLedger = (ledger: SagaLedger): Step => async (state) => {
  if (isSettled(state)) return state;
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
  if (isSettled(state)) return state;
  const payment = await ledger.markFailed({ paymentId: state.paymentId, failureCode: paymentFailureCode(state), at: now().toISOString() });
  logger.info('Payment failed', { paymentId: state.paymentId, failureCode: payment.failureCode });
  return { ...state, status: 'failed', failureCode: payment.failureCode };
};

/**
 * Compensation: cancel the authorization (reversing a capture whose outcome was unknown). Never for a settled
 * payment: a late or repeated start whose Authorize or Capture failed before its code ran (a Lambda service error,
 * throttling past the retries) lands here without knowing the payment's status, and a void of a captured payment
 * gives the money back while the ledger says succeeded. So the status is read first when Authorize did not.
 */
export const voidAuthorization = (processor: PaymentProcessor, ledger: SagaLedger): Step => async (state) => {
  const status = state.status ?? (await ledger.loadPayment(state.paymentId)).status;
  if (isSagaTerminal(status)) {
    logger.warn('Payment already settled: nothing voided', { paymentId: state.paymentId, status });
    return { ...state, status };
  }
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
