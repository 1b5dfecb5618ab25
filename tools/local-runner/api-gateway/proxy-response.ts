/** What a Lambda proxy integration's function must answer, checked as API Gateway checks it. */
import { GatewayError } from './gateway-responses.ts';

const PROXY_RESPONSE_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

export interface ProxyResponse {
  statusCode: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/**
 * Validates a Lambda proxy response as API Gateway does (REST: no unknown keys, integer status, string
 * body). A base64 body (`isBase64Encoded`) is decoded to bytes only when the request's Accept matches a
 * binary media type (`binaryAccepted`); otherwise API Gateway sends the base64 text as it is.
 */
export function parseProxyResponse(result: unknown, binaryAccepted: boolean): ProxyResponse {
  if (!result || typeof result !== 'object' || Array.isArray(result)) throw new GatewayError('INTEGRATION_FAILURE');
  const response = result as Record<string, unknown>;
  if (Object.keys(response).some((key) => !PROXY_RESPONSE_KEYS.has(key))) throw new GatewayError('INTEGRATION_FAILURE');
  const statusCode = typeof response.statusCode === 'string' ? Number(response.statusCode) : response.statusCode;
  if (typeof statusCode !== 'number' || !Number.isInteger(statusCode) || statusCode < 100 || statusCode > 599) throw new GatewayError('INTEGRATION_FAILURE');
  if (response.body !== undefined && response.body !== null && typeof response.body !== 'string') throw new GatewayError('INTEGRATION_FAILURE');
  const headers: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const [name, values] of Object.entries((response.multiValueHeaders ?? {}) as Record<string, unknown>)) {
    if (!Array.isArray(values)) throw new GatewayError('INTEGRATION_FAILURE');
    for (const value of values) headers.push([name, String(value)]);
    seen.add(name.toLowerCase());
  }
  for (const [name, value] of Object.entries((response.headers ?? {}) as Record<string, unknown>)) {
    if (value === null || typeof value === 'object') throw new GatewayError('INTEGRATION_FAILURE');
    if (!seen.has(name.toLowerCase())) headers.push([name, String(value)]);
  }
  const text = (response.body as string | undefined) ?? '';
  const body = response.isBase64Encoded === true && binaryAccepted ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { statusCode, headers, body };
}
