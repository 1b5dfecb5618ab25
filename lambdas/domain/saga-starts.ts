import type { OutboxEvent } from '#domain/events';
import { paymentExecutionName, refundExecutionName } from '#domain/ids';

/**
 * Which saga an event or an open item needs, under which execution name. The name is deterministic,
 * so starting a Standard execution twice with it starts one saga (the second answer is
 * ExecutionAlreadyExists).
 */
export type SagaKind = 'payment' | 'refund';

export interface SagaStart {
  saga: SagaKind;
  name: string;
  input: { paymentId: string } | { paymentId: string; refundId: string };
}

export function paymentSagaStart(paymentId: string): SagaStart {
  return { saga: 'payment', name: paymentExecutionName(paymentId), input: { paymentId } };
}

export function refundSagaStart(paymentId: string, refundId: string): SagaStart {
  return { saga: 'refund', name: refundExecutionName(refundId), input: { paymentId, refundId } };
}

/** payment.created starts the payment saga, refund.created the refund saga; every other event needs nothing. */
export function sagaStartForEvent(event: OutboxEvent): SagaStart | null {
  if (event.type === 'payment.created') return paymentSagaStart(event.paymentId);
  if (event.type === 'refund.created' && event.refundId) return refundSagaStart(event.paymentId, event.refundId);
  return null;
}
