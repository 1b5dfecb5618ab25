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
  return async ({ merchantId, idempotencyKey, body }: CreatePaymentRequest): Promise<CreatedPayment> => {
    const paymentId = paymentIdFor(merchantId, idempotencyKey);
    logger.appendKeys({ paymentId });
    tracer.putAnnotation('paymentId', paymentId);
    const hash = requestHash(body);
    const result = await store.createPayment(newPayment({ id: paymentId, merchantId, ...body, requestHash: hash, now: now() }));
    if (result.created) {
      logger.info('Payment created', { amount: body.amount, currency: body.currency });
      return { payment: result.payment, replayed: false };
    }
    if (result.existing.merchantId !== merchantId || result.existing.requestHash !== hash) throw new RequestMismatch();
    return { payment: result.existing, replayed: true };
  };
}
