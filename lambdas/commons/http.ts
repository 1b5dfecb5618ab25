import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context } from 'aws-lambda';
import type { ZodMiniType, output } from 'zod/mini';
import type { $ZodIssue } from 'zod/v4/core';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics, tracer } from '#commons/powertools';
import {
  ApiError,
  bodyTooLarge,
  internalError,
  invalidApiKey,
  invalidJson,
  parameterInvalid,
  parameterMissing,
  parameterUnknown,
} from '#domain/errors';
import { MAX_BODY_BYTES } from '#domain/requests';

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

/** The ApiError to answer with: itself, or a logged 500 internal_error for anything unexpected. */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  logger.error('Unhandled error', error as Error);
  return internalError();
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

/** The calling merchant: the API key API Gateway authenticated. Absent only if called around the gateway. */
export function merchantIdOf(event: APIGatewayProxyEvent): string {
  const apiKeyId = event.requestContext?.identity?.apiKeyId;
  if (typeof apiKeyId !== 'string' || apiKeyId === '') throw invalidApiKey();
  return apiKeyId;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The body's text: size-checked, base64-decoded when API Gateway encoded it, valid UTF-8. `undefined` when empty. */
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

function isJsonMediaType(contentType: string): boolean {
  const mediaType = contentType.split(';', 1)[0]!.trim().toLowerCase();
  return mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType);
}

export interface ParseBodyOptions {
  /** An absent or empty body is parsed as `{}` (for requests whose fields are all optional). */
  allowEmpty?: boolean;
}

/**
 * Parses and validates a JSON request body with a strict zod schema. Every failure is a 400
 * ApiError: body_too_large, invalid_json (not JSON, not an object, wrong Content-Type), or
 * parameter_unknown / parameter_missing / parameter_invalid with `param` naming the field path.
 * Returns zod's normalized output (absent optional fields stay absent).
 */
export function parseJsonBody<Schema extends ZodMiniType>(
  event: Pick<APIGatewayProxyEvent, 'body' | 'isBase64Encoded' | 'headers' | 'multiValueHeaders'>,
  schema: Schema,
  options: ParseBodyOptions = {},
): output<Schema> {
  const contentType = headerValue(event, 'content-type');
  const text = bodyText(event);
  if (text !== undefined && contentType !== undefined && !isJsonMediaType(contentType)) {
    throw invalidJson('The request body must be JSON sent with Content-Type: application/json.');
  }
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
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw invalidJson('The request body must be a JSON object.');
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
