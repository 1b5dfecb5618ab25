import { createRefund } from '#application/create-refund';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, apiRequestIdOf, headerValues, merchantIdOf, parseJsonBody } from '#commons/http';
import { createdResponse, idempotentOperation, type IdempotentRequest } from '#commons/idempotency';
import { IDEMPOTENCY_KEY_HEADER } from '#contract/headers';
import { createRefundBodySchema, validateIdempotencyKey, type CreateRefundBody } from '#contract/requests';
import { toRefundView } from '#contract/resources';

const create = createRefund(paymentsTableFromSettings());

/** The payment is part of what a retry must match: the same key on another payment is a reused key. */
const createOnce = idempotentOperation('create-refund', async (request: IdempotentRequest<CreateRefundBody & { paymentId: string }>) => {
  const { refund, replayed } = await create(request);
  return createdResponse('RefundRequested', toRefundView(refund), replayed);
});

/** POST /v1/payments/{id}/refunds */
export const handler = apiHandler('create-refund', async (event, context) => {
  // Validated before the idempotent call: an invalid request is not remembered, so the client can fix it and reuse the key.
  const idempotencyKey = validateIdempotencyKey(headerValues(event, IDEMPOTENCY_KEY_HEADER));
  const body = parseJsonBody(event, createRefundBodySchema, { allowEmpty: true });
  return createOnce({ merchantId: merchantIdOf(event), idempotencyKey, body: { paymentId: event.pathParameters?.id ?? '', ...body }, requestId: apiRequestIdOf(event) }, context);
});
