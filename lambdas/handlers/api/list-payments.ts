import { listPayments } from '#application/list-payments';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, jsonResponse, merchantIdOf, parseQuery } from '#commons/http';
import { DEFAULT_LIST_LIMIT, listPaymentsQuerySchema, toListView } from '#contract/lists';
import { toPaymentView } from '#contract/resources';

const list = listPayments(paymentsTableFromSettings());

/** GET /v1/payments?limit=&starting_after=&status=: the merchant's payments, newest first. */
export const handler = apiHandler('list-payments', async (event) => {
  const query = parseQuery(event, listPaymentsQuerySchema);
  const page = await list({ merchantId: merchantIdOf(event), limit: query.limit ?? DEFAULT_LIST_LIMIT, startingAfter: query.starting_after, status: query.status });
  return jsonResponse(200, toListView(page, toPaymentView));
});
