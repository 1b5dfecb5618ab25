import { listRefunds } from '#application/list-refunds';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, jsonResponse, merchantIdOf, parseQuery } from '#commons/http';
import { DEFAULT_LIST_LIMIT, listQuerySchema, toListView } from '#contract/lists';
import { toRefundView } from '#contract/resources';

const list = listRefunds(paymentsTableFromSettings());

/** GET /v1/payments/{id}/refunds?limit=&starting_after=: the payment's refunds, newest first. */
export const handler = apiHandler('list-refunds', async (event) => {
  const query = parseQuery(event, listQuerySchema);
  const page = await list({ merchantId: merchantIdOf(event), paymentId: event.pathParameters?.id, limit: query.limit ?? DEFAULT_LIST_LIMIT, startingAfter: query.starting_after });
  return jsonResponse(200, toListView(page, toRefundView));
});
