import type { OutboxEvent } from '#domain/events';
import { paymentExecutionName, refundExecutionName } from '#domain/ids';

/**
 * Which saga an event or an open item needs, under which execution name. The name is deterministic,
 * so starting a Standard execution twice with it starts one saga (the second answer is
 * ExecutionAlreadyExists).
 */
export type SagaKind = 'payment' | 'refund';

/**
 * The saga's input. `requestId`, the API request that created the payment or refund, is the same
 * whether the start comes from its event or from reconciliation (both read it from the stored item), so
 * a second start under the same name has the same input.
 */
export interface SagaStart {
  saga: SagaKind;
  name: string;
  input: { paymentId: string; requestId?: string } | { paymentId: string; refundId: string; requestId?: string };
}

const withRequestId = (requestId: string | undefined) => (requestId ? { requestId } : {});

export function paymentSagaStart(paymentId: string, requestId?: string): SagaStart {
  return { saga: 'payment', name: paymentExecutionName(paymentId), input: { paymentId, ...withRequestId(requestId) } };
}

export function refundSagaStart(paymentId: string, refundId: string, requestId?: string): SagaStart {
  return { saga: 'refund', name: refundExecutionName(refundId), input: { paymentId, refundId, ...withRequestId(requestId) } };
}

/** payment.created starts the payment saga, refund.created the refund saga; every other event needs nothing. */
export function sagaStartForEvent(event: OutboxEvent): SagaStart | null {
  if (event.type === 'payment.created') return paymentSagaStart(event.paymentId, event.requestId);
  if (event.type === 'refund.created' && event.refundId) return refundSagaStart(event.paymentId, event.refundId, event.requestId);
  return null;
}
