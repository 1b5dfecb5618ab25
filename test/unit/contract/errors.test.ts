import { describe, expect, it } from 'vitest';
import * as errors from '../../../contract/errors.ts';

// CONTRACT "HTTP error shape and codes", row by row.
const rows: Array<[() => errors.ApiError, number, string, string, string | undefined]> = [
  [errors.idempotencyKeyMissing, 400, 'invalid_request_error', 'idempotency_key_missing', 'Idempotency-Key'],
  [() => errors.idempotencyKeyInvalid('it is empty'), 400, 'invalid_request_error', 'idempotency_key_invalid', 'Idempotency-Key'],
  [() => errors.invalidJson(), 400, 'invalid_request_error', 'invalid_json', undefined],
  [() => errors.parameterInvalid('amount', 'amount must be an integer'), 400, 'invalid_request_error', 'parameter_invalid', 'amount'],
  [() => errors.parameterMissing('currency'), 400, 'invalid_request_error', 'parameter_missing', 'currency'],
  [() => errors.parameterUnknown('capture'), 400, 'invalid_request_error', 'parameter_unknown', 'capture'],
  [() => errors.bodyTooLarge(16384), 400, 'invalid_request_error', 'body_too_large', undefined],
  [() => errors.duplicateKey('metadata.orderId'), 400, 'invalid_request_error', 'invalid_json', 'metadata.orderId'],
  [errors.invalidApiKey, 403, 'authentication_error', 'invalid_api_key', undefined],
  [() => errors.resourceNotFound(), 404, 'invalid_request_error', 'resource_not_found', undefined],
  [() => errors.idempotencyKeyInUse(), 409, 'idempotency_error', 'idempotency_key_in_use', 'Idempotency-Key'],
  [() => errors.paymentNotRefundable('pending'), 409, 'invalid_request_error', 'payment_not_refundable', undefined],
  [errors.requestTooLarge, 413, 'invalid_request_error', 'request_too_large', undefined],
  [() => errors.unsupportedMediaType(), 415, 'invalid_request_error', 'unsupported_media_type', undefined],
  [errors.idempotencyKeyReused, 422, 'idempotency_error', 'idempotency_key_reused', 'Idempotency-Key'],
  [() => errors.refundExceedsRefundable(2, 1), 422, 'invalid_request_error', 'refund_exceeds_refundable', 'amount'],
  [errors.rateLimited, 429, 'rate_limit_error', 'rate_limited', undefined],
  [() => errors.quotaExceeded(60), 429, 'rate_limit_error', 'quota_exceeded', undefined],
  [errors.internalError, 500, 'api_error', 'internal_error', undefined],
  [errors.badGateway, 502, 'api_error', 'bad_gateway', undefined],
  [errors.gatewayTimeout, 504, 'api_error', 'gateway_timeout', undefined],
];

describe('API errors (CONTRACT error table)', () => {
  const table = rows.map(([make, status, type, code, param]) => ({ make, status, type, code, param }));
  it.each(table)('$status $type $code', ({ make, status, type, code, param }) => {
    const error = make();
    expect(error).toBeInstanceOf(errors.ApiError);
    expect(error.statusCode).toBe(status);
    expect(error.type).toBe(type);
    expect(error.code).toBe(code);
    expect(error.message.length).toBeGreaterThan(10);
    const body = error.toBody();
    expect(body).toEqual({ error: { type, code, message: error.message, ...(param ? { param } : {}) } });
    expect(Object.keys(body.error)).toEqual(param ? ['type', 'code', 'message', 'param'] : ['type', 'code', 'message']);
  });

  it('quota_exceeded carries Retry-After (the seconds until the quota resets)', () => {
    expect(errors.quotaExceeded(3600).headers).toEqual({ 'Retry-After': '3600' });
  });

  it('idempotency_key_in_use carries Retry-After', () => {
    expect(errors.idempotencyKeyInUse(3).headers).toEqual({ 'Retry-After': '3' });
  });
});
