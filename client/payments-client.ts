/**
 * A small client for the Payflow API (v1) that retries the way the API is designed to be retried:
 *
 * - one Idempotency-Key per logical operation, generated once and sent unchanged on every retry, so
 *   that a retried POST can never create a second payment or refund;
 * - retries on network errors, 409 (the same key still in progress), 429 (but not quota_exceeded) and 5xx, with exponential
 *   backoff and full jitter (a random pause between 0 and min(maxDelay, baseDelay * 2^retry)),
 *   never sooner than the server's Retry-After;
 * - any other 4xx is thrown at once as a PaymentsApiError (status, type, code, param).
 *
 *   const client = new PaymentsClient({ baseUrl: 'http://127.0.0.1:3000/v1/', apiKey });
 *   const payment = await client.createPayment({ amount: 1000, currency: 'USD', source: 'tok_success' });
 */
import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { ApiErrorCode, ApiErrorType } from '#contract/errors';
import { API_KEY_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, REQUEST_ID_HEADER, RETRY_AFTER_HEADER } from '#contract/headers';
import type { ListPage, ListPaymentsQuery, ListView } from '#contract/lists';
import type { CreatePaymentBody, CreateRefundBody } from '#contract/requests';
import type { PaymentView, RefundView } from '#contract/resources';
import type { EventView, WebhookEndpointView } from '#contract/webhooks';

export type Payment = PaymentView;
export type Refund = RefundView;
/** `{"object":"list","data":[…],"has_more":boolean}`: pass the last item's id as `startingAfter` for the next page. */
export type List<T> = ListView<T>;

export interface PageParams {
  /** 1–100, default 10. */
  limit?: number;
  /** The id of the last item of the previous page. */
  startingAfter?: string;
}
export type ListPaymentsParams = PageParams & { status?: ListPaymentsQuery['status'] };
export type CreatePaymentParams = CreatePaymentBody;
export type CreateRefundParams = CreateRefundBody;
export type Event = EventView;
export type WebhookEndpoint = WebhookEndpointView;
export type { ListPage };

export interface ListParams {
  /** 1–100, default 10. */
  limit?: number;
  /** The id of the last item of the previous page. */
  starting_after?: string;
}

export interface RetryPolicy {
  /** Retries after the first attempt (0 = never retry). */
  maxRetries: number;
  /** Cap of the first pause; each retry doubles it. */
  baseDelayMs: number;
  /** Largest pause from backoff. */
  maxDelayMs: number;
  /** Largest Retry-After honoured; a longer one ends the retries. */
  maxRetryAfterMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = { maxRetries: 4, baseDelayMs: 200, maxDelayMs: 5_000, maxRetryAfterMs: 30_000 };

export interface PaymentsClientOptions {
  /** The API's base URL, e.g. `https://<api>.execute-api.<region>.amazonaws.com/v1/` (with or without the trailing slash). */
  baseUrl: string;
  apiKey: string;
  retry?: Partial<RetryPolicy>;
  /** Per-attempt timeout (default 30 s, just above API Gateway's 29 s). */
  timeoutMs?: number;
  /** Source of randomness for the jitter, in [0, 1) (default Math.random). */
  random?: () => number;
  /** New idempotency keys (default: random UUIDs). */
  newIdempotencyKey?: () => string;
  fetch?: typeof globalThis.fetch;
}

export interface RequestOptions {
  /** The key of this logical operation; give the same one to retry an operation across processes. */
  idempotencyKey?: string;
  retry?: Partial<RetryPolicy>;
  signal?: AbortSignal;
}

export interface ApiResponse<T> {
  status: number;
  headers: Headers;
  /** The body as received. */
  text: string;
  body: T;
  /** `Idempotent-Replayed: true`: the answer is the stored result of an earlier identical request. */
  replayed: boolean;
  requestId?: string;
  /** Attempts made (1 when the first one answered). */
  attempts: number;
}

/** An error answer of the API, in its error shape `{"error":{"type","code","message","param"?}}`. */
export class PaymentsApiError extends Error {
  override readonly name = 'PaymentsApiError';
  readonly status: number;
  readonly type: ApiErrorType | string;
  readonly code: ApiErrorCode | string;
  readonly param?: string;
  readonly requestId?: string;
  readonly headers: Headers;
  readonly text: string;
  readonly attempts: number;

  constructor(status: number, headers: Headers, text: string, attempts: number) {
    const error = parseErrorBody(text);
    super(error?.message ?? `HTTP ${status}: ${text.slice(0, 200)}`);
    this.status = status;
    this.type = error?.type ?? (status >= 500 ? 'api_error' : 'invalid_request_error');
    this.code = error?.code ?? `http_${status}`;
    this.param = error?.param;
    this.requestId = headers.get(REQUEST_ID_HEADER) ?? undefined;
    this.headers = headers;
    this.text = text;
    this.attempts = attempts;
  }
}

/** No answer at all (connection refused or reset, timeout) after every retry. */
export class PaymentsConnectionError extends Error {
  override readonly name = 'PaymentsConnectionError';
  constructor(
    message: string,
    readonly attempts: number,
    options: { cause: unknown },
  ) {
    super(message, options);
  }
}

function parseErrorBody(text: string): { type?: string; code?: string; message?: string; param?: string } | undefined {
  try {
    const parsed = JSON.parse(text) as { error?: unknown; message?: unknown };
    if (parsed.error && typeof parsed.error === 'object') return parsed.error as { type?: string; code?: string; message?: string; param?: string };
    if (typeof parsed.message === 'string') return { message: parsed.message };
  } catch {
    // Not JSON: the status alone describes it.
  }
  return undefined;
}

function listQuery(params: ListPaymentsParams): string {
  const query = new URLSearchParams();
  if (params.limit !== undefined) query.set('limit', String(params.limit));
  if (params.startingAfter !== undefined) query.set('starting_after', params.startingAfter);
  if (params.status !== undefined) query.set('status', params.status);
  const text = query.toString();
  return text ? `?${text}` : '';
}

/** A used-up quota is not retried: nothing changes until it resets (its Retry-After says when). */
const QUOTA_EXCEEDED: ApiErrorCode = 'quota_exceeded';

const isRetryableStatus = (status: number) => status === 409 || status === 429 || status >= 500;

/** Retry-After in ms (seconds or an HTTP date), if the response has one. */
export function retryAfterMs(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get(RETRY_AFTER_HEADER);
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** The full-jitter pause before retry number `retry` (0-based). */
export function backoffDelayMs(retry: number, policy: RetryPolicy, random: () => number): number {
  return random() * Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** retry);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export class PaymentsClient {
  private readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly policy: RetryPolicy;
  private readonly timeoutMs: number;
  private readonly random: () => number;
  private readonly newIdempotencyKey: () => string;
  private readonly fetch: typeof globalThis.fetch;

  constructor(options: PaymentsClientOptions) {
    this.baseUrl = options.baseUrl.endsWith('/') ? options.baseUrl : `${options.baseUrl}/`;
    this.apiKey = options.apiKey;
    this.policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    this.timeoutMs = options.timeoutMs ?? 30_000;
    this.random = options.random ?? Math.random;
    this.newIdempotencyKey = options.newIdempotencyKey ?? randomUUID;
    this.fetch = options.fetch ?? globalThis.fetch;
  }

  /** POST /payments: creates a payment (status `pending`; the saga takes it to a terminal status). */
  async createPayment(params: CreatePaymentParams, options: RequestOptions = {}): Promise<Payment> {
    return (await this.send<Payment>('POST', 'payments', { ...options, body: params, idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey() })).body;
  }

  /** GET /payments/{id}. Another merchant's payment is a 404. */
  async getPayment(paymentId: string, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<Payment> {
    return (await this.send<Payment>('GET', `payments/${encodeURIComponent(paymentId)}`, options)).body;
  }

  /** POST /payments/{id}/refunds: without `amount`, refunds whatever is still refundable. */
  async createRefund(paymentId: string, params: CreateRefundParams = {}, options: RequestOptions = {}): Promise<Refund> {
    const path = `payments/${encodeURIComponent(paymentId)}/refunds`;
    return (await this.send<Refund>('POST', path, { ...options, body: params, idempotencyKey: options.idempotencyKey ?? this.newIdempotencyKey() })).body;
  }

  /** GET /payments: the merchant's payments, newest first. */
  async listPayments(params: ListPaymentsParams = {}, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<List<Payment>> {
    return (await this.send<List<Payment>>('GET', `payments${listQuery(params)}`, options)).body;
  }

  /** GET /payments/{id}/refunds: the payment's refunds, newest first. */
  async listRefunds(paymentId: string, params: PageParams = {}, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<List<Refund>> {
    return (await this.send<List<Refund>>('GET', `payments/${encodeURIComponent(paymentId)}/refunds${listQuery(params)}`, options)).body;
  }

  /** GET /refunds/{id}. Another merchant's refund is a 404. */
  async getRefund(refundId: string, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<Refund> {
    return (await this.send<Refund>('GET', `refunds/${encodeURIComponent(refundId)}`, options)).body;
  }

  /** Every item of a list, page after page (`list` is e.g. `(page) => client.listPayments({ ...page, status: 'failed' })`). */
  async *all<T extends { id: string }>(list: (page: PageParams) => Promise<List<T>>, limit = 100): AsyncGenerator<T> {
    let startingAfter: string | undefined;
    for (;;) {
      const page = await list({ limit, ...(startingAfter === undefined ? {} : { startingAfter }) });
      yield* page.data;
      const last = page.data.at(-1);
      if (!page.has_more || !last) return;
      startingAfter = last.id;
    }
  }

  /** GET /events: newest first; `type` filters one event type. */
  async listEvents(params: ListParams & { type?: string } = {}, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<ListPage<Event>> {
    return (await this.send<ListPage<Event>>('GET', `events${queryString(params)}`, options)).body;
  }

  /** Every event, newest first, page after page (each page `limit` long). */
  async *allEvents(params: Omit<ListParams, 'starting_after'> & { type?: string } = {}): AsyncGenerator<Event> {
    let startingAfter: string | undefined;
    for (;;) {
      const page = await this.listEvents({ ...params, ...(startingAfter ? { starting_after: startingAfter } : {}) });
      yield* page.data;
      if (!page.has_more || page.data.length === 0) return;
      startingAfter = page.data.at(-1)!.id;
    }
  }

  /** GET /events/{id}. Another merchant's event is a 404. */
  async getEvent(eventId: string, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<Event> {
    return (await this.send<Event>('GET', `events/${encodeURIComponent(eventId)}`, options)).body;
  }

  /** POST /events/{id}/resend: delivers the event again to every enabled endpoint that wants it, or to `webhook_endpoint` only. */
  async resendEvent(eventId: string, params: { webhook_endpoint?: string } = {}, options: RequestOptions = {}): Promise<{ object: 'event_resend'; event: string; webhook_endpoints: string[] }> {
    return (await this.send<{ object: 'event_resend'; event: string; webhook_endpoints: string[] }>('POST', `events/${encodeURIComponent(eventId)}/resend`, { ...options, body: params })).body;
  }

  /** POST /webhook_endpoints: the answer holds the signing `secret`, this once. */
  async createWebhookEndpoint(params: { url: string; enabled_events: string[] }, options: RequestOptions = {}): Promise<WebhookEndpoint & { secret: string }> {
    return (await this.send<WebhookEndpoint & { secret: string }>('POST', 'webhook_endpoints', { ...options, body: params })).body;
  }

  /** GET /webhook_endpoints: newest first, without secrets. */
  async listWebhookEndpoints(params: ListParams = {}, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<ListPage<WebhookEndpoint>> {
    return (await this.send<ListPage<WebhookEndpoint>>('GET', `webhook_endpoints${queryString(params)}`, options)).body;
  }

  /** POST /webhook_endpoints/{id}: changes the fields given; `{ disabled: false }` re-enables a disabled endpoint. */
  async updateWebhookEndpoint(endpointId: string, params: { url?: string; enabled_events?: string[]; disabled?: boolean }, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<WebhookEndpoint> {
    return (await this.send<WebhookEndpoint>('POST', `webhook_endpoints/${encodeURIComponent(endpointId)}`, { ...options, body: params })).body;
  }

  async getWebhookEndpoint(endpointId: string, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<WebhookEndpoint> {
    return (await this.send<WebhookEndpoint>('GET', `webhook_endpoints/${encodeURIComponent(endpointId)}`, options)).body;
  }

  async deleteWebhookEndpoint(endpointId: string, options: Omit<RequestOptions, 'idempotencyKey'> = {}): Promise<{ id: string; object: 'webhook_endpoint'; deleted: true }> {
    return (await this.send<{ id: string; object: 'webhook_endpoint'; deleted: true }>('DELETE', `webhook_endpoints/${encodeURIComponent(endpointId)}`, options)).body;
  }

  /** POST /webhook_endpoints/{id}/roll_secret: a new secret (in the answer); the old one keeps signing for `expires_in_seconds` (default 24 h). */
  async rollWebhookSecret(endpointId: string, params: { expires_in_seconds?: number } = {}, options: RequestOptions = {}): Promise<WebhookEndpoint & { secret: string }> {
    return (await this.send<WebhookEndpoint & { secret: string }>('POST', `webhook_endpoints/${encodeURIComponent(endpointId)}/roll_secret`, { ...options, body: params })).body;
  }

  /** Verifying webhook deliveries: `client.webhooks.constructEvent(...)`, the same as the exported `webhooks`. */
  readonly webhooks = webhooks;

  /**
   * One logical request, retried per the policy with the same idempotency key. Resolves with a 2xx
   * answer; rejects with PaymentsApiError (an error answer that is not retried, or the last one) or
   * PaymentsConnectionError (no answer).
   */
  async send<T>(method: string, path: string, options: RequestOptions & { body?: unknown } = {}): Promise<ApiResponse<T>> {
    const policy = { ...this.policy, ...options.retry };
    const url = new URL(path.replace(/^\//, ''), this.baseUrl);
    const headers: Record<string, string> = { [API_KEY_HEADER]: this.apiKey, accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (options.idempotencyKey !== undefined) headers[IDEMPOTENCY_KEY_HEADER] = options.idempotencyKey;
    const body = options.body === undefined ? undefined : JSON.stringify(options.body);

    for (let attempt = 1; ; attempt++) {
      const retry = attempt - 1;
      let response: Response;
      let text: string;
      try {
        const signal = options.signal ? AbortSignal.any([options.signal, AbortSignal.timeout(this.timeoutMs)]) : AbortSignal.timeout(this.timeoutMs);
        response = await this.fetch(url, { method, headers, body, signal });
        text = await response.text();
      } catch (error) {
        if (options.signal?.aborted) throw error;
        if (retry >= policy.maxRetries) {
          throw new PaymentsConnectionError(`${method} ${url.pathname}: no answer after ${attempt} attempt(s): ${String(error)}`, attempt, { cause: error });
        }
        await sleep(backoffDelayMs(retry, policy, this.random), options.signal);
        continue;
      }

      if (response.ok) {
        return {
          status: response.status,
          headers: response.headers,
          text,
          body: (text ? JSON.parse(text) : undefined) as T,
          replayed: response.headers.get(IDEMPOTENT_REPLAYED_HEADER) === 'true',
          requestId: response.headers.get(REQUEST_ID_HEADER) ?? undefined,
          attempts: attempt,
        };
      }
      const error = new PaymentsApiError(response.status, response.headers, text, attempt);
      if (!isRetryableStatus(response.status) || error.code === QUOTA_EXCEEDED || retry >= policy.maxRetries) throw error;
      const serverDelay = retryAfterMs(response.headers);
      if (serverDelay !== undefined && serverDelay > policy.maxRetryAfterMs) throw error;
      await sleep(Math.max(serverDelay ?? 0, backoffDelayMs(retry, policy, this.random)), options.signal);
    }
  }
}

function queryString(params: object): string {
  const entries = Object.entries(params).filter(([, value]) => value !== undefined).map(([name, value]): [string, string] => [name, String(value)]);
  return entries.length === 0 ? '' : `?${new URLSearchParams(entries).toString()}`;
}

/** A webhook delivery whose signature does not verify: tampered, signed with another secret, or too old. */
export class WebhookSignatureError extends Error {
  override readonly name = 'WebhookSignatureError';
}

/**
 * Verifies a webhook delivery and returns its event. `rawBody` must be the bytes as received (not re-serialized
 * JSON); `signatureHeader` is the `Payflow-Signature` header, `t=<unix>,v1=<hex>[,v1=<hex>]` (two v1 while a
 * secret roll overlaps: either may match). Signatures are compared in constant time; a timestamp more than
 * `toleranceSeconds` from now is refused, so a captured delivery cannot be replayed later.
 */
function constructEvent(rawBody: string | Uint8Array, signatureHeader: string | null | undefined, secret: string, toleranceSeconds = 300, nowSeconds = Date.now() / 1000): Event {
  if (!signatureHeader) throw new WebhookSignatureError('No Payflow-Signature header.');
  let timestamp: number | undefined;
  const signatures: string[] = [];
  for (const part of signatureHeader.split(',')) {
    const [name, value] = part.trim().split('=', 2) as [string, string | undefined];
    if (name === 't' && value && /^\d+$/.test(value)) timestamp = Number(value);
    else if (name === 'v1' && value) signatures.push(value);
  }
  if (timestamp === undefined || signatures.length === 0) throw new WebhookSignatureError('The Payflow-Signature header has no timestamp or no v1 signature.');
  if (Math.abs(nowSeconds - timestamp) > toleranceSeconds) throw new WebhookSignatureError(`The timestamp is outside the tolerance of ${toleranceSeconds} s.`);
  const body = typeof rawBody === 'string' ? Buffer.from(rawBody, 'utf8') : Buffer.from(rawBody);
  const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
  const matches = signatures.some((signature) => {
    const given = Buffer.from(signature, 'hex');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
  if (!matches) throw new WebhookSignatureError('No signature matches the body and secret.');
  return JSON.parse(body.toString('utf8')) as Event;
}

export const webhooks = { constructEvent };
