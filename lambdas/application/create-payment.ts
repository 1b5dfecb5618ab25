import { API_REQUEST_ID_KEY, correlationKeys } from '#commons/correlation';
import { logger, tracer } from '#commons/powertools';
import type { CreatePaymentBody } from '#contract/requests';
import { paymentIdFor, requestHash } from '#domain/ids';
import { newPayment, type Payment } from '#domain/payment';
import type { PaymentsStore } from '#ports/payments-store';
import { RequestMismatch } from './errors.ts';

export interface CreatePaymentRequest {
  merchantId: string;
  idempotencyKey: string;
  body: CreatePaymentBody;
  /** The API request id: kept on the payment as its correlation id (a later retry keeps the first one's). */
  requestId?: string;
}

export interface CreatedPayment {
  payment: Payment;
  /** The payment existed already: a retry that outlived its idempotency record. */
  replayed: boolean;
}

/**
 * Creates the pending payment whose id derives from (merchant, key). If it exists already — a
 * retry that outlived its idempotency record — the stored request hash decides: same body, the
 * existing payment is returned as a replay; another body, the key was reused.
 */
export function createPayment(store: PaymentsStore, now: () => Date = () => new Date()) {
  return async ({ merchantId, idempotencyKey, body, requestId }: CreatePaymentRequest): Promise<CreatedPayment> => {
    const paymentId = paymentIdFor(merchantId, idempotencyKey);
    logger.appendKeys(correlationKeys({ paymentId, requestId }));
    tracer.putAnnotation('paymentId', paymentId);
    if (requestId) tracer.putAnnotation(API_REQUEST_ID_KEY, requestId);
    const hash = requestHash(body);
    const result = await store.createPayment(newPayment({ id: paymentId, merchantId, ...body, requestHash: hash, requestId, now: now() }));
    if (result.created) {
      logger.info('Payment created', { amount: body.amount, currency: body.currency });
      return { payment: result.payment, replayed: false };
    }
    if (result.existing.merchantId !== merchantId || result.existing.requestHash !== hash) throw new RequestMismatch();
    return { payment: result.existing, replayed: true };
  };
}
