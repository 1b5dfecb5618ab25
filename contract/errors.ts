/**
 * The API's error vocabulary (CONTRACT "HTTP error shape and codes"). Handlers throw or return an
 * ApiError; lambdas/commons/http.ts turns it into `{"error":{"type","code","message","param"?}}`.
 */
export const API_ERROR_TYPES = ['invalid_request_error', 'authentication_error', 'idempotency_error', 'rate_limit_error', 'api_error'] as const;
export type ApiErrorType = (typeof API_ERROR_TYPES)[number];

export type ApiErrorCode =
  | 'idempotency_key_missing'
  | 'idempotency_key_invalid'
  | 'invalid_json'
  | 'parameter_invalid'
  | 'parameter_missing'
  | 'parameter_unknown'
  | 'body_too_large'
  | 'invalid_api_key'
  | 'resource_not_found'
  | 'idempotency_key_in_use'
  | 'payment_not_refundable'
  | 'resource_busy'
  | 'request_too_large'
  | 'unsupported_media_type'
  | 'idempotency_key_reused'
  | 'refund_exceeds_refundable'
  | 'rate_limited'
  | 'quota_exceeded'
  | 'internal_error'
  | 'bad_gateway'
  | 'gateway_timeout';

import { IDEMPOTENCY_KEY_HEADER, RETRY_AFTER_HEADER } from './headers.ts';

export class ApiError extends Error {
  override readonly name = 'ApiError';

  constructor(
    readonly statusCode: number,
    readonly type: ApiErrorType,
    readonly code: ApiErrorCode,
    message: string,
    readonly param?: string,
    /** Extra response headers, e.g. Retry-After. */
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
  }

  /** The public body: `{"error":{"type","code","message","param"?}}` (param omitted when absent). */
  toBody(): { error: { type: ApiErrorType; code: ApiErrorCode; message: string; param?: string } } {
    return {
      error: {
        type: this.type,
        code: this.code,
        message: this.message,
        ...(this.param === undefined ? {} : { param: this.param }),
      },
    };
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}

// 400 invalid_request_error
export const idempotencyKeyMissing = () =>
  new ApiError(400, 'invalid_request_error', 'idempotency_key_missing',
    'An Idempotency-Key header is required on this request.', IDEMPOTENCY_KEY_HEADER);
export const idempotencyKeyInvalid = (reason: string) =>
  new ApiError(400, 'invalid_request_error', 'idempotency_key_invalid',
    `The Idempotency-Key header is invalid: ${reason}.`, IDEMPOTENCY_KEY_HEADER);
export const invalidJson = (message = 'The request body is not valid JSON.') =>
  new ApiError(400, 'invalid_request_error', 'invalid_json', message);
export const parameterInvalid = (param: string, message: string) =>
  new ApiError(400, 'invalid_request_error', 'parameter_invalid', message, param);
export const parameterMissing = (param: string) =>
  new ApiError(400, 'invalid_request_error', 'parameter_missing', `Missing required parameter: ${param}.`, param);
export const parameterUnknown = (param: string) =>
  new ApiError(400, 'invalid_request_error', 'parameter_unknown', `Received unknown parameter: ${param}.`, param);
/** `param` is the path of the key (e.g. `metadata.orderId`); the message never repeats the body. */
export const duplicateKey = (param: string) =>
  new ApiError(400, 'invalid_request_error', 'invalid_json',
    'The request body has the same key twice in one object; send each field once.', param);
/** Largest accepted request body, in bytes of its UTF-8 text. */
export const MAX_BODY_BYTES = 16 * 1024;
export const bodyTooLarge = (limitBytes: number) =>
  new ApiError(400, 'invalid_request_error', 'body_too_large',
    `The request body is larger than ${limitBytes} bytes.`);

// 403
export const invalidApiKey = () =>
  new ApiError(403, 'authentication_error', 'invalid_api_key', 'A valid API key is required.');

// 404
export const resourceNotFound = (message = 'No such resource.') =>
  new ApiError(404, 'invalid_request_error', 'resource_not_found', message);

// 409
export const idempotencyKeyInUse = (retryAfterSeconds = 1) =>
  new ApiError(409, 'idempotency_error', 'idempotency_key_in_use',
    'A request with this Idempotency-Key is still being processed; retry later.', IDEMPOTENCY_KEY_HEADER,
    { [RETRY_AFTER_HEADER]: String(retryAfterSeconds) });
export const paymentNotRefundable = (status: string) =>
  new ApiError(409, 'invalid_request_error', 'payment_not_refundable',
    `The payment cannot be refunded in status ${status}; only succeeded or partially_refunded payments can.`);
/** Writers kept colliding on the same payment past the handler's bounded retries: nothing was written. */
export const resourceBusy = (retryAfterSeconds = 1) =>
  new ApiError(409, 'api_error', 'resource_busy',
    'Another request is changing this payment right now; retry with the same Idempotency-Key.', undefined,
    { [RETRY_AFTER_HEADER]: String(retryAfterSeconds) });

// 413
export const requestTooLarge = () =>
  new ApiError(413, 'invalid_request_error', 'request_too_large', 'The request is too large.');

// 415
export const unsupportedMediaType = (message = 'The request content type is not supported; send application/json in UTF-8.') =>
  new ApiError(415, 'invalid_request_error', 'unsupported_media_type', message);

// 422
export const idempotencyKeyReused = () =>
  new ApiError(422, 'idempotency_error', 'idempotency_key_reused',
    'This Idempotency-Key was already used with a different request (another body, or another route).', IDEMPOTENCY_KEY_HEADER);
export const refundExceedsRefundable = (requested: number, refundable: number) =>
  new ApiError(422, 'invalid_request_error', 'refund_exceeds_refundable',
    `The refund amount ${requested} exceeds the amount still refundable (${refundable}).`, 'amount');
export const nothingLeftToRefund = () =>
  new ApiError(422, 'invalid_request_error', 'refund_exceeds_refundable',
    'Nothing is left to refund on this payment.', 'amount');

// 429
export const rateLimited = () =>
  new ApiError(429, 'rate_limit_error', 'rate_limited', 'Too many requests; slow down and retry later.');

/** A usage plan's quota is used up: retrying is useless until it resets (API Gateway answers it; clients stop). */
export const quotaExceeded = (retryAfterSeconds: number) =>
  new ApiError(429, 'rate_limit_error', 'quota_exceeded',
    'The request quota of this API key is exhausted until its period resets (see Retry-After).', undefined,
    { [RETRY_AFTER_HEADER]: String(retryAfterSeconds) });

// 5xx api_error
export const internalError = () =>
  new ApiError(500, 'api_error', 'internal_error', 'An internal error occurred; it is safe to retry with the same Idempotency-Key.');
export const badGateway = () =>
  new ApiError(502, 'api_error', 'bad_gateway', 'Bad gateway.');
export const gatewayTimeout = () =>
  new ApiError(504, 'api_error', 'gateway_timeout', 'The request timed out; it is safe to retry with the same Idempotency-Key.');
