import { getRefund } from '#application/get-refund';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, jsonResponse, merchantIdOf } from '#commons/http';
import { toRefundView } from '#contract/resources';

const get = getRefund(paymentsTableFromSettings());

/** GET /v1/refunds/{id}: another merchant's refund is indistinguishable from a missing one (404). */
export const handler = apiHandler('get-refund', async (event) =>
  jsonResponse(200, toRefundView(await get({ merchantId: merchantIdOf(event), refundId: event.pathParameters?.id }))));
