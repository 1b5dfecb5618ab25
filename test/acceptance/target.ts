/**
 * What the acceptance tests know of the stack under test: only what a client of a deployed stack has
 * (the outputs file, the API URL, the merchants' API keys, the AWS endpoint of the queues it names).
 * Tests talk to it over HTTP and read the resources named in the outputs with the AWS SDK; nothing
 * here knows whether it runs locally, on LocalStack or on AWS.
 */
import { randomUUID } from 'node:crypto';
import { SQSClient } from '@aws-sdk/client-sqs';
import { expect, inject } from 'vitest';
import { PaymentsClient, type Payment } from '../../client/payments-client.ts';

export type Target = 'local' | 'localstack' | 'aws';

export interface AcceptanceContext {
  target: Target;
  /** The stack's outputs, as `cdk deploy --outputs-file` writes them (plus local extras). */
  outputs: Record<string, string>;
  /** Base URL of the API, ending in `/<stage>/`. */
  apiUrl: string;
  /** By output suffix (ApiKeyIdMerchantA -> MerchantA): the key id (the merchant id handlers see) and its value. */
  apiKeys: Record<string, { id: string; value: string }>;
  /** How to reach the AWS APIs of the stack's resources (empty on AWS: the SDK's defaults). */
  aws: { region?: string; sqsEndpoint?: string; credentials?: { accessKeyId: string; secretAccessKey: string } };
  /** How long the target may take: a payment to reach a terminal status, a poison message its DLQ. */
  deadlines: { terminalMs: number; dlqMs: number };
  /** The twin's function log (`[<function>] <line>` per line); only the local target has one. */
  functionLogFile?: string;
}

export const stack = (): AcceptanceContext => inject('acceptance');

export function output(name: string): string {
  const value = stack().outputs[name];
  if (value === undefined) throw new Error(`The stack has no output ${name}`);
  return value;
}

export interface Merchant {
  /** The API key id: the merchant's identity. */
  id: string;
  apiKey: string;
  client: PaymentsClient;
}

/** A merchant of the stack by its output suffix (MerchantA, MerchantB, ThrottleProbe). */
export function merchant(suffix: string): Merchant {
  const key = stack().apiKeys[suffix];
  if (!key) throw new Error(`The stack has no API key output ApiKeyId${suffix}`);
  return { id: key.id, apiKey: key.value, client: new PaymentsClient({ baseUrl: stack().apiUrl, apiKey: key.value }) };
}

export interface HttpAnswer {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  json: any;
}

/** One raw HTTP request to the API (no retries): what the idempotency and gateway rows are about. */
export async function call(
  method: string,
  path: string,
  /** `body`: a string or bytes are sent as they are, anything else JSON-encoded. */
  options: { apiKey?: string; idempotencyKey?: string; headers?: Record<string, string>; body?: unknown } = {},
): Promise<HttpAnswer> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.apiKey !== undefined) headers['x-api-key'] = options.apiKey;
  if (options.idempotencyKey !== undefined) headers['Idempotency-Key'] = options.idempotencyKey;
  let body: string | Uint8Array | undefined;
  if (options.body !== undefined) {
    body = typeof options.body === 'string' || options.body instanceof Uint8Array ? options.body : JSON.stringify(options.body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(new URL(path.replace(/^\//, ''), stack().apiUrl), { method, headers, body });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, headers: response.headers, text, json };
}

/** A fresh idempotency key: tests never share keys (a deployed stack keeps them for 24 h). */
export const newKey = (label = 'acceptance') => `${label}-${randomUUID()}`;

/** The API's error shape, with a request id header (DESIGN §2). */
export function expectError(answer: HttpAnswer, status: number, type: string, code: string, param?: string): void {
  expect({ status: answer.status, body: answer.json }).toMatchObject({
    status,
    body: { error: { type, code, message: expect.any(String), ...(param === undefined ? {} : { param }) } },
  });
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  expect(answer.headers.get('x-amzn-requestid')).toBeTruthy();
}

/** Calls `probe` until it returns something other than undefined, or fails after the deadline. Never a fixed sleep. */
export async function eventually<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>, intervalMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms${last ? ` (last error: ${String(last)})` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
}

/** Polls the payment until its status is one of `statuses` (and `also` holds, when given). */
export function paymentReaching(merchantOf: Merchant, paymentId: string, statuses: readonly string[], also: Partial<Payment> = {}): Promise<Payment> {
  const what = `${paymentId} to reach ${statuses.join('|')} ${JSON.stringify(also)}`;
  return eventually(what, stack().deadlines.terminalMs, async () => {
    const payment = await merchantOf.client.getPayment(paymentId);
    const matches = statuses.includes(payment.status) && Object.entries(also).every(([field, value]) => payment[field as keyof Payment] === value);
    return matches ? payment : undefined;
  });
}

export const TERMINAL_PAYMENT_STATUSES = ['succeeded', 'failed'] as const;

export function sqsClient(): SQSClient {
  const { region, sqsEndpoint, credentials } = stack().aws;
  // Send to the endpoint, not to the host inside a queue URL (local queue URLs name hosts that may not resolve).
  return new SQSClient({ region, credentials, ...(sqsEndpoint ? { endpoint: sqsEndpoint, useQueueUrlAsEndpoint: false } : {}) });
}
