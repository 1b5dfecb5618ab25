import { createPayment } from '#application/create-payment';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { apiHandler, apiRequestIdOf, headerValues, merchantIdOf, parseJsonBody } from '#commons/http';
import { createdResponse, idempotentOperation, type IdempotentRequest } from '#commons/idempotency';
import { IDEMPOTENCY_KEY_HEADER } from '#contract/headers';
import { createPaymentBodySchema, validateIdempotencyKey, type CreatePaymentBody } from '#contract/requests';
import { toPaymentView } from '#contract/resources';

const create = createPayment(paymentsTableFromSettings());

const createOnce = idempotentOperation('create-payment', async (request: IdempotentRequest<CreatePaymentBody>) => {
  const { payment, replayed } = await create(request);
  return createdResponse('PaymentCreated', toPaymentView(payment), replayed, { Location: `/v1/payments/${payment.id}` });
});

/** POST /v1/payments */
export const handler = apiHandler('create-payment', async (event, context) => {
  // Validated before the idempotent call: an invalid request is not remembered, so the client can fix it and reuse the key.
  const idempotencyKey = validateIdempotencyKey(headerValues(event, IDEMPOTENCY_KEY_HEADER));
  const body = parseJsonBody(event, createPaymentBodySchema);
  return createOnce({ merchantId: merchantIdOf(event), idempotencyKey, body, requestId: apiRequestIdOf(event) }, context);
});
