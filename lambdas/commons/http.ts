import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ZodMiniType, output } from 'zod/mini';
import type { $ZodIssue } from 'zod/v4/core';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { setting } from '#commons/environment';
import { logger, metrics, tracer } from '#commons/powertools';
import { firstDuplicateKey } from '#commons/json-text';
import { EventNotVisible, InvalidCursor, PaymentBusy, PaymentNotVisible, RefundNotVisible, RequestMismatch, WebhookEndpointNotVisible, WebhookUrlRefused } from '#application/errors';
import {
  ApiError,
  bodyTooLarge,
  duplicateKey,
  idempotencyKeyReused,
  internalError,
  invalidApiKey,
  invalidJson,
  MAX_BODY_BYTES,
  nothingLeftToRefund,
  parameterInvalid,
  parameterMissing,
  parameterUnknown,
  paymentNotRefundable,
  refundExceedsRefundable,
  resourceBusy,
  resourceNotFound,
  unsupportedMediaType,
} from '#contract/errors';
import { RefundRefused } from '#domain/refund';

/** What a handler returns; `body` is always a JSON string. */
export interface HttpResult {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

export type ApiGatewayHandler = (event: APIGatewayProxyEvent, context: Context) => Promise<APIGatewayProxyResult>;

export const JSON_CONTENT_TYPE = 'application/json';

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): HttpResult {
  return {
    statusCode,
    headers: { 'Content-Type': JSON_CONTENT_TYPE, ...headers },
    body: JSON.stringify(body),
  };
}

/** `{"error":{"type","code","message","param"?}}` with the error's status and headers (e.g. Retry-After). */
export function errorResponse(error: ApiError): HttpResult {
  return jsonResponse(error.statusCode, error.toBody(), { ...error.headers });
}

/** The ApiError to answer with: itself, the contract's answer to a use case's refusal, or a logged 500 internal_error for anything unexpected. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof RequestMismatch) return idempotencyKeyReused();
  if (error instanceof PaymentNotVisible) return resourceNotFound('No such payment.');
  if (error instanceof RefundNotVisible) return resourceNotFound('No such refund.');
  if (error instanceof InvalidCursor) return parameterInvalid('starting_after', 'starting_after must be the id of an item of this list.');
  if (error instanceof PaymentBusy) return resourceBusy();
  if (error instanceof EventNotVisible) return resourceNotFound('No such event.');
  if (error instanceof WebhookEndpointNotVisible) return resourceNotFound('No such webhook endpoint.');
  if (error instanceof WebhookUrlRefused) return parameterInvalid('url', error.message);
  if (error instanceof RefundRefused) return refundRefusal(error);
  logger.error('Unhandled error', error as Error);
  return internalError();
}

function refundRefusal({ reason, payment, requestedAmount }: RefundRefused): ApiError {
  switch (reason) {
    case 'payment_not_refundable':
      return paymentNotRefundable(payment.status);
    case 'nothing_left_to_refund':
      return nothingLeftToRefund();
    case 'exceeds_refundable':
      return refundExceedsRefundable(requestedAmount ?? 0, payment.amountRefundable);
    case 'invalid_amount':
      return parameterInvalid('amount', 'amount must be a positive integer number of minor units');
  }
}

/**
 * Every value of a header, whatever the case of its name, from both `headers` and
 * `multiValueHeaders` of a REST proxy event (duplicates removed, order kept).
 */
export function headerValues(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>, name: string): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(event.multiValueHeaders ?? {})) {
    if (key.toLowerCase() === wanted && Array.isArray(value)) values.push(...value.filter((v) => typeof v === 'string'));
  }
  for (const [key, value] of Object.entries(event.headers ?? {})) {
    if (key.toLowerCase() === wanted && typeof value === 'string') values.push(value);
  }
  return [...new Set(values)];
}

/** The first value of a header, looked up case-insensitively. */
export function headerValue(event: Pick<APIGatewayProxyEvent, 'headers' | 'multiValueHeaders'>, name: string): string | undefined {
  return headerValues(event, name)[0];
}

let merchantKeys: { text: string; merchantOf: Map<string, string> } | undefined;

/**
 * The merchant an API key belongs to, from the key id -> merchant pairs of the function's environment
 * (`MERCHANT_API_KEYS`, written by the stack from `payflow:merchants`): parsed once per container (again
 * only if the setting changes, as tests do), then one map lookup per request.
 */
function merchantOfApiKey(apiKeyId: string): string | undefined {
  const text = setting('merchantApiKeys');
  if (merchantKeys?.text !== text) merchantKeys = { text, merchantOf: new Map(JSON.parse(text) as Array<[string, string]>) };
  return merchantKeys.merchantOf.get(apiKeyId);
}

/**
 * The calling merchant: the merchant of the API key API Gateway authenticated. A merchant may have several
 * keys (rotation); its payments and idempotency keys are the merchant's, whichever key is used. A key the
 * stack does not list as active (revoked, or none at all: called around the gateway) is 403.
 */
export function merchantIdOf(event: APIGatewayProxyEvent): string {
  const apiKeyId = event.requestContext?.identity?.apiKeyId;
  if (typeof apiKeyId !== 'string' || apiKeyId === '') throw invalidApiKey();
  const merchantId = merchantOfApiKey(apiKeyId);
  if (merchantId === undefined) throw invalidApiKey();
  logger.appendKeys({ merchantId, apiKeyId });
  return merchantId;
}

/** The API request id: API Gateway's requestContext.requestId, which it also returns as `x-amzn-RequestId`. */
export function apiRequestIdOf(event: APIGatewayProxyEvent): string | undefined {
  const requestId = event.requestContext?.requestId;
  return typeof requestId === 'string' && requestId !== '' ? requestId : undefined;
}

/**
 * Strict UTF-8: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD, and a leading
 * byte-order mark is kept (so JSON.parse refuses it) rather than silently dropped.
 */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * The body's text: size-checked, base64-decoded when API Gateway encoded it, valid UTF-8. `undefined` when empty.
 * The API declares every media type binary (PaymentsApi `binaryMediaTypes: ['*\/*']`), so on API Gateway
 * bodies arrive base64-encoded, as the client's bytes: that is the only way to see bytes that are not
 * UTF-8 (a text body reaches Lambda already decoded, invalid bytes replaced by U+FFFD). A text body
 * (a direct invocation, or an API without binary media types) is taken as it comes.
 */
function bodyText(event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded'>): string | undefined {
  const raw = event.body;
  if (raw === null || raw === undefined || raw === '') return undefined;
  if (typeof raw !== 'string') throw invalidJson('The request body must be JSON text.');
  if (!event.isBase64Encoded) {
    if (Buffer.byteLength(raw, 'utf8') > MAX_BODY_BYTES) throw bodyTooLarge(MAX_BODY_BYTES);
    return raw;
  }
  if (raw.length > Math.ceil(MAX_BODY_BYTES / 3) * 4 + 4) throw bodyTooLarge(MAX_BODY_BYTES);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(raw) || raw.length % 4 !== 0) throw invalidJson('The request body is not valid base64.');
  const bytes = Buffer.from(raw, 'base64');
  if (bytes.length > MAX_BODY_BYTES) throw bodyTooLarge(MAX_BODY_BYTES);
  try {
    return utf8.decode(bytes);
  } catch {
    throw invalidJson('The request body is not valid UTF-8.');
  }
}

interface MediaType {
  /** `type/subtype`, lower case. */
  essence: string;
  /** Parameter names in lower case; values unquoted, as sent. */
  parameters: Array<[string, string]>;
}

/** `application/json; charset="UTF-8"` -> essence and parameters (RFC 9110 §8.3.1). */
function parseMediaType(contentType: string): MediaType {
  const [essence = '', ...rest] = contentType.split(';');
  const parameters = rest.map((part): [string, string] => {
    const equals = part.indexOf('=');
    const name = (equals < 0 ? part : part.slice(0, equals)).trim().toLowerCase();
    let value = equals < 0 ? '' : part.slice(equals + 1).trim();
    if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1).replace(/\\(.)/g, '$1');
    return [name, value];
  });
  return { essence: essence.trim().toLowerCase(), parameters };
}

function isJsonMediaType(essence: string): boolean {
  return essence === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(essence);
}

/** JSON is UTF-8 (RFC 8259 §8.1): a charset parameter, if sent, must say so (`utf-8` or `utf8`, any case). */
function isUtf8Charset(charset: string): boolean {
  return /^utf-?8$/i.test(charset);
}

/**
 * Checks the Content-Type of a request that has a body: JSON, in UTF-8. Another media type is
 * 400 invalid_json; a charset other than UTF-8 is 415 unsupported_media_type (the body would be
 * decoded as something it is not). No Content-Type at all is taken as JSON.
 */
function checkContentType(contentType: string | undefined): void {
  if (contentType === undefined) return;
  const mediaType = parseMediaType(contentType);
  if (!isJsonMediaType(mediaType.essence)) {
    throw invalidJson('The request body must be JSON sent with Content-Type: application/json.');
  }
  for (const [name, value] of mediaType.parameters) {
    if (name === 'charset' && !isUtf8Charset(value)) {
      throw unsupportedMediaType('The request body must be JSON in UTF-8: send Content-Type: application/json (charset=utf-8 or none).');
    }
  }
}

export interface ParseBodyOptions {
  /** An absent or empty body is parsed as `{}` (for requests whose fields are all optional). */
  allowEmpty?: boolean;
}

/**
 * Parses and validates a JSON request body with a strict zod schema. Every failure is an ApiError:
 * 415 unsupported_media_type (a charset other than UTF-8), or a 400 — body_too_large, invalid_json
 * (not JSON, not UTF-8, not an object, a key twice in one object, wrong Content-Type), or
 * parameter_unknown / parameter_missing / parameter_invalid with `param` naming the field path.
 * Returns zod's normalized output (absent optional fields stay absent).
 */
export function parseJsonBody<Schema extends ZodMiniType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers' | 'multiValueHeaders'>,
  schema: Schema,
  options: ParseBodyOptions = {},
): output<Schema> {
  // The media type is checked before the bytes are decoded: a body declared as Latin-1 is refused for
  // what it says it is (415), not for the UTF-8 it then fails to be.
  if (event.body !== null && event.body !== undefined && event.body !== '') checkContentType(headerValue(event, 'content-type'));
  const text = bodyText(event);
  let input: unknown;
  if (text === undefined || (options.allowEmpty && text.trim() === '')) {
    if (!options.allowEmpty) throw invalidJson('The request body is empty; a JSON object is required.');
    input = {};
  } else {
    try {
      input = JSON.parse(text);
    } catch {
      throw invalidJson('The request body is not valid JSON.');
    }
    // JSON.parse keeps the last of two equal keys: `{"amount":1,"amount":1000}` must not charge either.
    const duplicate = firstDuplicateKey(text);
    if (duplicate) throw duplicateKey(duplicate.join('.'));
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidJson('The request body must be a JSON object.');
  }
  const result = schema.safeParse(input);
  if (!result.success) throw apiErrorFromIssues(result.error.issues, input);
  return result.data;
}

/**
 * Parses and validates the query string with a strict zod schema: an unknown parameter is 400
 * parameter_unknown, a bad value parameter_invalid, a parameter sent twice with different values too.
 */
export function parseQuery<Schema extends ZodMiniType>(
  event: Pick<APIGatewayProxyEvent, 'queryStringParameters' | 'multiValueQueryStringParameters'>,
  schema: Schema,
): output<Schema> {
  const input: Record<string, string> = { ...(event.queryStringParameters ?? {}) } as Record<string, string>;
  for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {})) {
    const distinct = [...new Set(values ?? [])];
    if (distinct.length > 1) throw parameterInvalid(name, `${name} was sent more than once with different values.`);
    if (distinct[0] !== undefined) input[name] = distinct[0];
  }
  const result = schema.safeParse(input);
  if (!result.success) throw apiErrorFromIssues(result.error.issues, input);
  return result.data;
}

type Issue = $ZodIssue;

/** Turns zod issues into one 400: unknown fields first, then missing, then invalid, each naming its field path. */
export function apiErrorFromIssues(issues: readonly Issue[], input: unknown): ApiError {
  const unknownKeys = issues.find((issue) => issue.code === 'unrecognized_keys');
  if (unknownKeys && unknownKeys.code === 'unrecognized_keys') {
    return parameterUnknown(fieldPath([...unknownKeys.path, unknownKeys.keys[0] ?? '']));
  }
  const missing = issues.find((issue) => issue.path.length > 0 && valueAt(input, issue.path) === undefined);
  if (missing) return parameterMissing(fieldPath(missing.path));
  const issue = issues[0];
  if (!issue) return parameterInvalid('', 'The request body is invalid.');
  const message = issue.code === 'invalid_key' ? (issue.issues[0]?.message ?? issue.message) : issue.message;
  return parameterInvalid(fieldPath(issue.path), message);
}

function fieldPath(path: readonly PropertyKey[]): string {
  return path.map((segment) => String(segment)).join('.');
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value: unknown = input;
  for (const segment of path) {
    if (value === null || typeof value !== 'object' || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<PropertyKey, unknown>)[segment];
  }
  return value;
}

/**
 * Wraps an API Gateway handler with the project's plumbing: Lambda context and correlation id
 * (API Gateway request id) in every log line, a traced subsegment, metrics flushed per invocation,
 * and every error turned into the error shape — an unexpected one into a logged 500.
 */
export function apiHandler(operation: string, handle: ApiGatewayHandler): ApiGatewayHandler {
  return async (event, context) => {
    logger.addContext(context);
    logger.setCorrelationId(event?.requestContext?.requestId);
    const segment = tracer.getSegment();
    const subsegment = segment?.addNewSubsegment(`## ${operation}`);
    if (subsegment) tracer.setSegment(subsegment);
    tracer.annotateColdStart();
    tracer.addServiceNameAnnotation();
    tracer.putAnnotation('operation', operation);
    metrics.captureColdStartMetric(context.functionName);
    try {
      return await handle(event, context);
    } catch (error) {
      const apiError = toApiError(error);
      if (apiError.statusCode >= 500) {
        tracer.addErrorAsMetadata(error as Error);
        metrics.addMetric('ServerError', MetricUnit.Count, 1);
      } else {
        logger.info('Request rejected', { statusCode: apiError.statusCode, code: apiError.code, param: apiError.param });
      }
      return errorResponse(apiError);
    } finally {
      subsegment?.close();
      if (segment) tracer.setSegment(segment);
      if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
      logger.resetKeys();
    }
  };
}
