/**
 * The JSON state that flows through the payment and refund sagas (CONTRACT "Sagas"): every task
 * receives it and returns it merged with its own result. Step Functions adds `error` (and
 * `compensationError`) when a Catch routes a failure to a compensation.
 */
import type { Currency } from '#domain/money';
import type { PaymentStatus } from '#domain/payment';
import type { RefundStatus } from '#domain/refund';

/** What a Catch puts at its ResultPath: the error name and its cause (in AWS a JSON string from Lambda). */
export interface CaughtError {
  Error: string;
  Cause?: string;
}

export interface PaymentSagaState {
  paymentId: string;
  /** The API request that created the payment (opaque correlation id): every step logs it. */
  requestId?: string;
  merchantId?: string;
  amount?: number;
  currency?: Currency;
  source?: string;
  status?: PaymentStatus;
  authorizationId?: string;
  captureId?: string;
  /** When the capture was confirmed: the posting's timestamp, so a retried PostLedger sends identical parameters. */
  capturedAt?: string;
  /** Set by VoidAuthorization. */
  voided?: boolean;
  /** Set by RefundCapture: the processor's id of the compensating refund. */
  processorRefundId?: string;
  failureCode?: string;
  error?: CaughtError;
  compensationError?: CaughtError;
}

export interface RefundSagaState {
  paymentId: string;
  refundId: string;
  /** The API request that created the refund (opaque correlation id): every step logs it. */
  requestId?: string;
  merchantId?: string;
  amount?: number;
  currency?: Currency;
  status?: RefundStatus;
  processorRefundId?: string;
  refundedAt?: string;
  failureCode?: string;
  error?: CaughtError;
  compensationError?: CaughtError;
}

/**
 * Error names the sagas retry with backoff and full jitter. Processor: nothing happened
 * (ProcessorUnavailable) or the outcome is unknown and a retry with the same key reveals it
 * (ProcessorTimeout). Payments table: transient refusals left after the SDK's own retries.
 * Everything else is permanent and goes to a Catch.
 */
export const RETRYABLE_PROCESSOR_ERRORS = ['ProcessorUnavailable', 'ProcessorTimeout'] as const;
/**
 * Thrown by Authorize when the processor's circuit breaker is open and nothing was sent: the state
 * machine waits on the breaker's schedule, up to the hold time (lambdas/domain/circuit-breaker.ts).
 */
export const CIRCUIT_OPEN_ERROR = 'CircuitOpen';

/**
 * Thrown by Authorize when it could not read the payment before authorizing: nothing was sent to the
 * processor, and a failed read says nothing about the card, so the state machine retries it on the settle
 * schedule and then hands the case to an operator rather than fail the payment (DESIGN §6).
 */
export const PAYMENT_UNREADABLE_ERROR = 'PaymentUnreadable';

export class PaymentUnreadable extends Error {
  override readonly name = PAYMENT_UNREADABLE_ERROR;
}

export const RETRYABLE_TABLE_ERRORS = [
  'TransactionConflict',
  'ProvisionedThroughputExceededException',
  'ThrottlingException',
  'RequestLimitExceeded',
  'InternalServerError',
] as const;

/**
 * A task's function that never answered: Lambda ended it at its timeout (Sandbox.Timedout) or its execution
 * environment died (Runtime.ExitError; Lambda.Unknown where Lambda cannot say). Whatever it did is unknown,
 * and it says nothing about the card: every task is idempotent, so the state machine runs it again rather
 * than let infrastructure trouble decide a payment (DESIGN §6).
 */
export const FUNCTION_ENVIRONMENT_ERRORS = ['Sandbox.Timedout', 'Runtime.ExitError', 'Lambda.Unknown'] as const;

/**
 * Errors after which a Payments-table task certainly changed nothing and never will: the item is in
 * a state the task cannot start from, or the table answered with a refusal that is not throttling.
 * Every other error of such a task may hide a write that was applied (a timeout, a lost response),
 * so the task, being idempotent, is retried to find out instead of being compensated.
 */
export const PERMANENT_TABLE_ERRORS = ['PaymentStateConflict', 'WriteRefused', 'PaymentNotFound', 'RefundNotFound', 'InvalidSagaState'] as const;

export const PAYMENT_FAILURE_CODES = ['card_declined', 'insufficient_funds', 'processor_unavailable', 'capture_failed', 'ledger_failed'] as const;
export type PaymentFailureCode = (typeof PAYMENT_FAILURE_CODES)[number];

const isPaymentFailureCode = (value: unknown): value is PaymentFailureCode =>
  typeof value === 'string' && (PAYMENT_FAILURE_CODES as readonly string[]).includes(value);

/**
 * The error message inside a Catch's Cause: Lambda errors reach Step Functions as the JSON string
 * `{"errorType","errorMessage","trace"}`; anything else is taken as the message itself.
 */
export function causeMessage(error: CaughtError | undefined): string | undefined {
  const cause = error?.Cause;
  if (cause === undefined) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (parsed && typeof parsed === 'object' && 'errorMessage' in parsed && typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause;
}

/**
 * Why a payment failed: the code the saga set on its way to MarkFailed, else the decline code of a
 * PaymentDeclined error (its message), else processor_unavailable.
 */
export function paymentFailureCode(state: Pick<PaymentSagaState, 'failureCode' | 'error'>): PaymentFailureCode {
  if (isPaymentFailureCode(state.failureCode)) return state.failureCode;
  if (state.error?.Error === 'PaymentDeclined') {
    const code = causeMessage(state.error);
    return isPaymentFailureCode(code) ? code : 'card_declined';
  }
  return 'processor_unavailable';
}

/** Why a refund failed: the processor's refusal code (RefundFailed's message), else processor_unavailable. */
export function refundFailureCode(state: Pick<RefundSagaState, 'failureCode' | 'error'>): string {
  if (state.failureCode) return state.failureCode;
  if (state.error?.Error === 'RefundFailed') {
    const code = causeMessage(state.error);
    if (code && /^[a-z_]{1,64}$/.test(code)) return code;
    return 'refund_failed';
  }
  return 'processor_unavailable';
}

/** Processor idempotency keys (CONTRACT): `<paymentId>:authorize|capture|void|refund`, `<refundId>:refund`. */
export const processorKey = (reference: string, operation: 'authorize' | 'capture' | 'void' | 'refund') => `${reference}:${operation}`;

/** A saga task got a state without a field an earlier task should have put there: a definition bug, never retried. */
export class InvalidSagaState extends Error {
  override readonly name = 'InvalidSagaState';
}

/** The field of the saga state, which must be present. */
export function required<T extends object, K extends keyof T>(state: T, field: K): NonNullable<T[K]> {
  const value = state[field];
  if (value === undefined || value === null) throw new InvalidSagaState(`Saga state has no ${String(field)}`);
  return value as NonNullable<T[K]>;
}
