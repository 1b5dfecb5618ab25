import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { documentClient } from '#commons/dynamodb';
import { requiredEnv } from '#commons/env';
import { apiHandler, headerValues, jsonResponse, merchantIdOf, parseJsonBody } from '#commons/http';
import { idempotentOperation, markReplayed, type IdempotentRequest } from '#commons/idempotency';
import { logger, metrics, tracer } from '#commons/powertools';
import { PaymentsRepository } from '#adapters/payments-repository';
import { idempotencyKeyReused } from '#domain/errors';
import { paymentIdFor, requestHash } from '#domain/ids';
import { newPaymentItem, toPaymentView } from '#domain/payment';
import { createPaymentBodySchema, validateIdempotencyKey, type CreatePaymentBody } from '#domain/requests';

const payments = new PaymentsRepository(documentClient, requiredEnv('PAYMENTS_TABLE_NAME'));

/**
 * Creates the pending payment whose id derives from (merchant, key). If it exists already — a
 * retry that outlived its idempotency record — the stored request hash decides: same body, the
 * existing payment is returned as a replay; another body, the key was reused.
 */
const createPayment = idempotentOperation('create-payment', async ({ merchantId, idempotencyKey, body }: IdempotentRequest<CreatePaymentBody>) => {
  const paymentId = paymentIdFor(merchantId, idempotencyKey);
  logger.appendKeys({ paymentId });
  tracer.putAnnotation('paymentId', paymentId);
  const hash = requestHash(body);
  const result = await payments.createPayment(
    newPaymentItem({ id: paymentId, merchantId, ...body, requestHash: hash, now: new Date() }),
  );
  if (!result.created) {
    if (result.existing.merchantId !== merchantId || result.existing.requestHash !== hash) throw idempotencyKeyReused();
    metrics.addMetric('IdempotentReplay', MetricUnit.Count, 1);
    logger.info('Payment already existed for this idempotency key; returning it');
    return markReplayed(created(result.existing));
  }
  metrics.addMetric('PaymentCreated', MetricUnit.Count, 1);
  logger.info('Payment created', { amount: body.amount, currency: body.currency });
  return created(result.payment);
});

function created(payment: Parameters<typeof toPaymentView>[0]) {
  return jsonResponse(201, toPaymentView(payment), { Location: `/v1/payments/${payment.id}` });
}

/** POST /v1/payments */
export const handler = apiHandler('create-payment', async (event, context) => {
  const merchantId = merchantIdOf(event);
  logger.appendKeys({ merchantId });
  // Validated before the idempotent call: an invalid request is not remembered, so the client can fix it and reuse the key.
  const idempotencyKey = validateIdempotencyKey(headerValues(event, 'Idempotency-Key'));
  const body = parseJsonBody(event, createPaymentBodySchema);
  return createPayment({ merchantId, idempotencyKey, body }, context);
});
