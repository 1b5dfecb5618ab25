import { documentClient } from '#commons/dynamodb';
import { requiredEnv } from '#commons/env';
import { apiHandler, jsonResponse, merchantIdOf } from '#commons/http';
import { logger } from '#commons/powertools';
import { PaymentsRepository } from '#adapters/payments-repository';
import { resourceNotFound } from '#domain/errors';
import { isPaymentId } from '#domain/ids';
import { toPaymentView } from '#domain/payment';

const payments = new PaymentsRepository(documentClient, requiredEnv('PAYMENTS_TABLE_NAME'));

/** GET /v1/payments/{id}: another merchant's payment is indistinguishable from a missing one (404). */
export const handler = apiHandler('get-payment', async (event) => {
  const merchantId = merchantIdOf(event);
  logger.appendKeys({ merchantId });
  const paymentId = event.pathParameters?.id;
  if (!paymentId || !isPaymentId(paymentId)) throw resourceNotFound('No such payment.');
  logger.appendKeys({ paymentId });
  const payment = await payments.getPayment(paymentId);
  if (!payment || payment.merchantId !== merchantId) throw resourceNotFound('No such payment.');
  return jsonResponse(200, toPaymentView(payment));
});
