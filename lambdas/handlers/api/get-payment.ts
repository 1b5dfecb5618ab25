import { getPayment } from '#application/get-payment';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, jsonResponse, merchantIdOf } from '#commons/http';
import { toPaymentView } from '#contract/resources';

const get = getPayment(paymentsTableFromSettings());

/** GET /v1/payments/{id}: another merchant's payment is indistinguishable from a missing one (404). */
export const handler = apiHandler('get-payment', async (event) =>
  jsonResponse(200, toPaymentView(await get({ merchantId: merchantIdOf(event), paymentId: event.pathParameters?.id }))));
