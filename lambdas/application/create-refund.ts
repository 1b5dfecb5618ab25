import { jitteredBackoff } from '#commons/backoff';
import { API_REQUEST_ID_KEY, correlationKeys } from '#commons/correlation';
import { logger, tracer } from '#commons/powertools';
import type { CreateRefundBody } from '#contract/requests';
import { isPaymentId, refundIdFor, requestHash } from '#domain/ids';
import type { Payment } from '#domain/payment';
import { newRefund, resolveRefundAmount, type Refund } from '#domain/refund';
import type { PaymentsStore } from '#ports/payments-store';
import { PaymentBusy, PaymentNotVisible, RequestMismatch } from './errors.ts';

/** The payment is part of what a retry must match: the same key on another payment is a reused key. */
export interface CreateRefundRequest {
  merchantId: string;
  idempotencyKey: string;
  body: CreateRefundBody & { paymentId: string };
  /** The API request id: kept on the refund as its correlation id (a later retry keeps the first one's). */
  requestId?: string;
}

export interface CreatedRefund {
  refund: Refund;
  /** The refund existed already: a retry that outlived its idempotency record. */
  replayed: boolean;
}

/** A payment that changes between the read and the reservation is re-read from the failed condition; this bounds that loop. */
const MAX_RESERVATION_ATTEMPTS = 10;

/**
 * Reserves a refund on a payment of this merchant. The refund id derives from (merchant, payment,
 * key). The reservation is one transaction (conditional decrement of amountRefundable + conditional
 * put of the pending refund), so concurrent refunds can never exceed what was captured; a writer
 * that keeps losing the race on the payment gives up with PaymentBusy, having written nothing.
 */
export function createRefund(store: PaymentsStore, now: () => Date = () => new Date()) {
  return async ({ merchantId, idempotencyKey, body, requestId }: CreateRefundRequest): Promise<CreatedRefund> => {
    const { paymentId, amount: requestedAmount, reason, metadata } = body;
    if (!isPaymentId(paymentId)) throw new PaymentNotVisible();
    const refundId = refundIdFor(merchantId, paymentId, idempotencyKey);
    logger.appendKeys(correlationKeys({ paymentId, refundId, requestId }));
    tracer.putAnnotation('paymentId', paymentId);
    if (requestId) tracer.putAnnotation(API_REQUEST_ID_KEY, requestId);
    const hash = requestHash(body);
    const replay = (existing: Refund): CreatedRefund => {
      if (existing.requestHash !== hash) throw new RequestMismatch();
      return { refund: existing, replayed: true };
    };

    let payment = ownPayment(await store.getPayment(paymentId), merchantId);
    const at = now();
    for (let attempt = 1; attempt <= MAX_RESERVATION_ATTEMPTS; attempt++) {
      let amount: number;
      try {
        amount = resolveRefundAmount(payment, requestedAmount);
      } catch (error) {
        // A retry that outlived its idempotency record finds the payment already (partly) refunded by itself.
        const existing = await store.getRefund(paymentId, refundId);
        if (existing) return replay(existing);
        throw error;
      }
      const outcome = await store.reserveRefund(newRefund({ id: refundId, payment, amount, reason, metadata, requestHash: hash, requestId, now: at }));
      if (outcome.outcome === 'reserved') {
        logger.info('Refund reserved', { amount, currency: payment.currency });
        return { refund: outcome.refund, replayed: false };
      }
      if (outcome.outcome === 'refund_exists') return replay(outcome.existing);
      if (outcome.outcome === 'busy') break;
      payment = ownPayment(outcome.payment, merchantId);
      await jitteredBackoff(attempt);
    }
    logger.warn('Refund reservation lost every race on the payment', { attempts: MAX_RESERVATION_ATTEMPTS });
    throw new PaymentBusy(`Refund reservation on ${paymentId} lost every race`);
  };
}

function ownPayment(payment: Payment | undefined, merchantId: string): Payment {
  if (!payment || payment.merchantId !== merchantId) throw new PaymentNotVisible();
  return payment;
}
