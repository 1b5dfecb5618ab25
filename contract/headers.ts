/** The HTTP headers of the API's contract (DESIGN §2), shared by the functions, the gateway's responses and the client. */
export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';
export const RETRY_AFTER_HEADER = 'Retry-After';
export const API_KEY_HEADER = 'x-api-key';
/**
 * API Gateway's id of the request, on every response. The id of the POST that created a payment or a refund is
 * also its `requestId` (contract/resources.ts): the id to quote to support and to find its history by.
 */
export const REQUEST_ID_HEADER = 'x-amzn-RequestId';
