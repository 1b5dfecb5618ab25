/**
 * API Gateway's own errors, mapped to the API's error shape `{"error":{"type","code","message","param"?}}`
 * (CONTRACT "HTTP error shape and codes"). PaymentsApi turns each entry into a gateway response; the local
 * runner answers missing or invalid keys, throttling, quotas and unknown routes from the same entries, so
 * that a client sees the same status, headers and body locally and on AWS.
 *
 * No AWS imports: this file is data.
 */
import { IDEMPOTENCY_KEY_HEADER, RETRY_AFTER_HEADER } from '../contract/headers.ts';

export interface GatewayError {
  /** The HTTP status (for DEFAULT_4XX/DEFAULT_5XX, only the typical one: see `keepsGatewayStatus`). */
  readonly status: number;
  /** The catch-all types keep the status API Gateway chose (401, 403, 409, 503, ...). */
  readonly keepsGatewayStatus?: boolean;
  readonly type: 'invalid_request_error' | 'authentication_error' | 'rate_limit_error' | 'api_error';
  readonly code: string;
  /** The message on the wire, unless `gatewayMessage` is set. */
  readonly message: string;
  readonly param?: string;
  /**
   * On AWS, the message is API Gateway's own (`$context.error.messageString`), which says more than a
   * fixed text could (e.g. which body check failed); `message` is what the local runner answers instead.
   */
  readonly gatewayMessage?: boolean;
  /** Extra response headers (values are literal strings). */
  readonly headers?: Readonly<Record<string, string>>;
}

/** A usage plan quota's period (every tier's quota is per DAY), in seconds: the longest Retry-After of QUOTA_EXCEEDED. */
export const QUOTA_PERIOD_SECONDS = 86_400;

/** Keys are API Gateway gateway response types (aws-cdk-lib ResponseType names). */
export const GATEWAY_ERRORS = {
  DEFAULT_4XX: {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    message: 'The request is invalid.',
    gatewayMessage: true,
    keepsGatewayStatus: true,
  },
  DEFAULT_5XX: {
    status: 500,
    type: 'api_error',
    code: 'internal_error',
    message: 'An internal error occurred.',
    keepsGatewayStatus: true,
  },
  BAD_REQUEST_PARAMETERS: {
    status: 400,
    type: 'invalid_request_error',
    code: 'idempotency_key_missing',
    message: 'An Idempotency-Key header is required on this request.',
    param: IDEMPOTENCY_KEY_HEADER,
  },
  BAD_REQUEST_BODY: {
    status: 400,
    type: 'invalid_request_error',
    code: 'invalid_request',
    message: 'The request body is invalid.',
    gatewayMessage: true,
  },
  // API Gateway answers a missing key and an unknown key alike with INVALID_API_KEY.
  INVALID_API_KEY: {
    status: 403,
    type: 'authentication_error',
    code: 'invalid_api_key',
    message: 'A valid API key is required.',
  },
  // API Gateway's answer to a route or method that does not exist.
  MISSING_AUTHENTICATION_TOKEN: {
    status: 404,
    type: 'invalid_request_error',
    code: 'resource_not_found',
    message: 'No such route.',
  },
  RESOURCE_NOT_FOUND: {
    status: 404,
    type: 'invalid_request_error',
    code: 'resource_not_found',
    message: 'No such route.',
  },
  ACCESS_DENIED: {
    status: 403,
    type: 'authentication_error',
    code: 'access_denied',
    message: 'Access denied.',
  },
  THROTTLED: {
    status: 429,
    type: 'rate_limit_error',
    code: 'rate_limited',
    message: 'Too many requests; slow down and retry.',
    headers: { [RETRY_AFTER_HEADER]: '1' },
  },
  // Its own code: retrying does not help until the usage plan's quota period resets (clients stop).
  // Gateway responses carry only literal headers (or request values), so on AWS Retry-After is the
  // longest wait of a DAY quota; the local runner sends the seconds left until the quota resets.
  QUOTA_EXCEEDED: {
    status: 429,
    type: 'rate_limit_error',
    code: 'quota_exceeded',
    message: 'The request quota of this API key is exhausted until its period resets (see Retry-After).',
    headers: { [RETRY_AFTER_HEADER]: String(QUOTA_PERIOD_SECONDS) },
  },
  REQUEST_TOO_LARGE: {
    status: 413,
    type: 'invalid_request_error',
    code: 'request_too_large',
    message: 'The request is too large.',
  },
  UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    type: 'invalid_request_error',
    code: 'unsupported_media_type',
    message: 'The request content type is not supported; send application/json.',
  },
  INTEGRATION_TIMEOUT: {
    status: 504,
    type: 'api_error',
    code: 'gateway_timeout',
    message: 'The request timed out; retry it with the same Idempotency-Key.',
  },
  INTEGRATION_FAILURE: {
    status: 502,
    type: 'api_error',
    code: 'bad_gateway',
    message: 'The request failed; retry it with the same Idempotency-Key.',
  },
  API_CONFIGURATION_ERROR: {
    status: 500,
    type: 'api_error',
    code: 'internal_error',
    message: 'An internal error occurred.',
  },
} as const satisfies Record<string, GatewayError>;

export type GatewayErrorType = keyof typeof GATEWAY_ERRORS;

/** The body the local runner sends for a gateway error (on AWS, the gateway response template renders it). */
export function gatewayErrorBody(type: GatewayErrorType): string {
  const error: GatewayError = GATEWAY_ERRORS[type];
  return JSON.stringify({
    error: {
      type: error.type,
      code: error.code,
      message: error.message,
      ...(error.param === undefined ? {} : { param: error.param }),
    },
  });
}
