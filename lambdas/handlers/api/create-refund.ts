import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '#commons/dynamodb';
import { requiredEnv } from '#commons/env';
import { apiHandler, headerValues, jsonResponse, merchantIdOf, parseJsonBody, type HttpResult } from '#commons/http';
import { idempotentOperation, markReplayed, type IdempotentRequest } from '#commons/idempotency';
import { logger, metrics, tracer } from '#commons/powertools';
import { PaymentsRepository } from '#adapters/payments-repository';
import { jitteredBackoff } from '#commons/backoff';
import { idempotencyKeyReused, resourceBusy, resourceNotFound } from '#domain/errors';
import { isPaymentId, refundIdFor, requestHash } from '#domain/ids';
import type { PaymentItem } from '#domain/payment';
import { newRefundItem, resolveRefundAmount, toRefundView, type Refund, type RefundItem } from '#domain/refund';
import { createRefundBodySchema, validateIdempotencyKey, type CreateRefundBody } from '#domain/requests';

const payments = new PaymentsRepository(documentClient, requiredEnv('PAYMENTS_TABLE_NAME'));

/** The payment is part of what a retry must match: the same key on another payment is a reused key. */
type RefundRequest = CreateRefundBody & { paymentId: string };

/** A payment that changes between the read and the reservation is re-read from the failed condition; this bounds that loop. */
const MAX_RESERVATION_ATTEMPTS = 10;

/**
 * Reserves a refund on a payment of this merchant. The refund id derives from (merchant, payment,
 * key). The reservation is one transaction (conditional decrement of amountRefundable + conditional
 * put of the pending refund), so concurrent refunds can never exceed what was captured.
 */
const createRefund = idempotentOperation('create-refund', async ({ merchantId, idempotencyKey, body }: IdempotentRequest<RefundRequest>) => {
  const { paymentId, amount: requestedAmount, reason, metadata } = body;
  const refundId = refundIdFor(merchantId, paymentId, idempotencyKey);
  logger.appendKeys({ paymentId, refundId });
  tracer.putAnnotation('paymentId', paymentId);
  const hash = requestHash(body);

  let payment = ownPayment(await payments.getPayment(paymentId), merchantId);
  const now = new Date();
  for (let attempt = 1; attempt <= MAX_RESERVATION_ATTEMPTS; attempt++) {
    let amount: number;
    try {
      amount = resolveRefundAmount(payment, requestedAmount);
    } catch (error) {
      // A retry that outlived its idempotency record finds the payment already (partly) refunded by itself.
      const existing = await payments.getRefund(paymentId, refundId);
      if (existing) return replayOf(existing, hash);
      throw error;
    }
    const outcome = await payments.reserveRefund(
      newRefundItem({ id: refundId, payment, amount, reason, metadata, requestHash: hash, now }),
    );
    if (outcome.outcome === 'reserved') {
      metrics.addMetric('RefundRequested', MetricUnit.Count, 1);
      logger.info('Refund reserved', { amount, currency: payment.currency });
      return created(outcome.refund);
    }
    if (outcome.outcome === 'refund_exists') return replayOf(outcome.existing, hash);
    if (outcome.outcome === 'busy') break;
    payment = ownPayment(outcome.payment, merchantId);
    await jitteredBackoff(attempt);
  }
  logger.warn('Refund reservation lost every race on the payment; answering 409 resource_busy', { attempts: MAX_RESERVATION_ATTEMPTS });
  throw resourceBusy();
});

function ownPayment(payment: PaymentItem | undefined, merchantId: string): PaymentItem {
  if (!payment || payment.merchantId !== merchantId) throw resourceNotFound('No such payment.');
  return payment;
}

function replayOf(existing: RefundItem, hash: string): HttpResult {
  if (existing.requestHash !== hash) throw idempotencyKeyReused();
  metrics.addMetric('IdempotentReplay', MetricUnit.Count, 1);
  logger.info('Refund already existed for this idempotency key; returning it');
  return markReplayed(created(existing));
}

function created(refund: Refund): HttpResult {
  return jsonResponse(201, toRefundView(refund));
}

/** POST /v1/payments/{id}/refunds */
export const handler = apiHandler('create-refund', async (event, context) => {
  const merchantId = merchantIdOf(event);
  logger.appendKeys({ merchantId });
  const paymentId = event.pathParameters?.id;
  // Validated before the idempotent call: an invalid request is not remembered, so the client can fix it and reuse the key.
  const idempotencyKey = validateIdempotencyKey(headerValues(event, 'Idempotency-Key'));
  const body = parseJsonBody(event, createRefundBodySchema, { allowEmpty: true });
  if (!paymentId || !isPaymentId(paymentId)) throw resourceNotFound('No such payment.');
  return createRefund({ merchantId, idempotencyKey, body: { paymentId, ...body } }, context);
});
