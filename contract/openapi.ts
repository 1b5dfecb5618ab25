/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas the handlers validate requests with
 * (contract/requests.ts, contract/lists.ts, contract/webhooks.ts) and the views they answer with
 * (contract/view-schemas.ts).
 * `npm run openapi` writes it to docs/openapi.json; a test keeps that file up to date, and the acceptance
 * suite validates every response it receives against it.
 *
 * A route is added by registering an operation (`API_OPERATIONS`, or `buildOpenApiDocument([...API_OPERATIONS, ...more])`)
 * with its zod schemas: path parameters, query, body and a schema per success status. Every operation
 * also answers errors in the one error shape (`default`), from the handlers and from the gateway.
 */
import * as z from 'zod/mini';
import { toJSONSchema, type $ZodType } from 'zod/v4/core';
import { API_ERROR_TYPES } from './errors.ts';
import { API_KEY_HEADER, IDEMPOTENCY_KEY_HEADER, IDEMPOTENT_REPLAYED_HEADER, REQUEST_ID_HEADER, RETRY_AFTER_HEADER } from './headers.ts';
import { listPaymentsQuerySchema, listQuerySchema } from './lists.ts';
import { createPaymentBodySchema, createRefundBodySchema, MAX_IDEMPOTENCY_KEY_LENGTH } from './requests.ts';
import {
  deletedWebhookEndpointSchema,
  eventListSchema,
  eventResendSchema,
  eventViewSchema,
  paymentListSchema,
  paymentViewSchema,
  refundListSchema,
  refundViewSchema,
  webhookEndpointListSchema,
  webhookEndpointViewSchema,
  webhookEndpointWithSecretSchema,
} from './view-schemas.ts';
import {
  createWebhookEndpointBodySchema,
  listEventsQuerySchema,
  listWebhookEndpointsQuerySchema,
  resendEventBodySchema,
  rollWebhookSecretBodySchema,
  updateWebhookEndpointBodySchema,
} from './webhooks.ts';

/** The error shape of every 4xx and 5xx (DESIGN §2), whoever answers: a handler or API Gateway. */
export const errorBodySchema = z.strictObject({
  error: z.strictObject({
    type: z.enum(API_ERROR_TYPES),
    code: z.string().check(z.regex(/^[a-z_]+$/)),
    message: z.string(),
    param: z.optional(z.string()),
  }),
});

export interface ApiResponse {
  description: string;
  /** Registered under this name in components.schemas. */
  schema: { name: string; zod: $ZodType };
  /** Response headers beyond the request id (which every response has). */
  headers?: readonly string[];
}

export interface ApiOperation {
  operationId: string;
  method: 'get' | 'post' | 'delete';
  /** Relative to the stage, e.g. `/payments/{id}`. */
  path: string;
  summary: string;
  description?: string;
  tags: readonly string[];
  pathParameters?: Readonly<Record<string, string>>;
  /** A strict object of query parameters (validated by the handler with the same schema). */
  query?: $ZodType;
  /** `optional`: an empty body is the same as `{}`. */
  body?: { name: string; zod: $ZodType; optional?: boolean };
  /** An `Idempotency-Key` header is required. */
  idempotent?: boolean;
  responses: Readonly<Record<number, ApiResponse>>;
}

const Payment = { name: 'Payment', zod: paymentViewSchema };
const Refund = { name: 'Refund', zod: refundViewSchema };
const paymentId = { id: 'The payment id (`pay_…`).' };
const Event = { name: 'Event', zod: eventViewSchema };
const eventId = { id: 'The event id (`evt_…`).' };
const WebhookEndpoint = { name: 'WebhookEndpoint', zod: webhookEndpointViewSchema };
const WebhookEndpointWithSecret = { name: 'WebhookEndpointWithSecret', zod: webhookEndpointWithSecretSchema };
const endpointId = { id: 'The webhook endpoint id (`we_…`).' };

export const API_OPERATIONS: readonly ApiOperation[] = [
  {
    operationId: 'createPayment',
    method: 'post',
    path: '/payments',
    summary: 'Create a payment',
    description: 'The payment id derives from (merchant, Idempotency-Key): a retry can never create a second payment.',
    tags: ['payments'],
    body: { name: 'CreatePaymentRequest', zod: createPaymentBodySchema },
    idempotent: true,
    responses: { 201: { description: 'The payment, `pending`; the saga takes it to a terminal status.', schema: Payment, headers: ['Location', IDEMPOTENT_REPLAYED_HEADER] } },
  },
  {
    operationId: 'listPayments',
    method: 'get',
    path: '/payments',
    summary: "List the merchant's payments, newest first",
    tags: ['payments'],
    query: listPaymentsQuerySchema,
    responses: { 200: { description: 'A page of payments.', schema: { name: 'PaymentList', zod: paymentListSchema } } },
  },
  {
    operationId: 'getPayment',
    method: 'get',
    path: '/payments/{id}',
    summary: 'Get a payment',
    description: "Another merchant's payment is a 404, like a missing one.",
    tags: ['payments'],
    pathParameters: paymentId,
    responses: { 200: { description: 'The payment.', schema: Payment } },
  },
  {
    operationId: 'createRefund',
    method: 'post',
    path: '/payments/{id}/refunds',
    summary: 'Refund a payment, in full or in part',
    description: 'Without `amount`, refunds whatever is still refundable. Refunds never exceed the captured amount, even when concurrent.',
    tags: ['refunds'],
    pathParameters: paymentId,
    body: { name: 'CreateRefundRequest', zod: createRefundBodySchema },
    idempotent: true,
    responses: { 201: { description: 'The refund, `pending`.', schema: Refund, headers: [IDEMPOTENT_REPLAYED_HEADER] } },
  },
  {
    operationId: 'listRefunds',
    method: 'get',
    path: '/payments/{id}/refunds',
    summary: "List a payment's refunds, newest first",
    tags: ['refunds'],
    pathParameters: paymentId,
    query: listQuerySchema,
    responses: { 200: { description: 'A page of refunds.', schema: { name: 'RefundList', zod: refundListSchema } } },
  },
  {
    operationId: 'getRefund',
    method: 'get',
    path: '/refunds/{id}',
    summary: 'Get a refund',
    tags: ['refunds'],
    pathParameters: { id: 'The refund id (`re_…`).' },
    responses: { 200: { description: 'The refund.', schema: Refund } },
  },
  {
    operationId: 'listEvents',
    method: 'get',
    path: '/events',
    summary: "List the merchant's events, newest first",
    description: 'Events are kept 30 days. `type` keeps one event type.',
    tags: ['events'],
    query: listEventsQuerySchema,
    responses: { 200: { description: 'A page of events.', schema: { name: 'EventList', zod: eventListSchema } } },
  },
  {
    operationId: 'getEvent',
    method: 'get',
    path: '/events/{id}',
    summary: 'Get an event',
    description: "Another merchant's event is a 404, like a missing or expired one.",
    tags: ['events'],
    pathParameters: eventId,
    responses: { 200: { description: 'The event, as webhook deliveries carry it.', schema: Event } },
  },
  {
    operationId: 'resendEvent',
    method: 'post',
    path: '/events/{id}/resend',
    summary: 'Deliver an event again',
    description: 'To every enabled endpoint that wants it, or to `webhook_endpoint` only. No Idempotency-Key: a resend twice is two deliveries (receivers dedupe by event id).',
    tags: ['events'],
    pathParameters: eventId,
    body: { name: 'ResendEventRequest', zod: resendEventBodySchema, optional: true },
    responses: { 202: { description: 'The deliveries are queued.', schema: { name: 'EventResend', zod: eventResendSchema } } },
  },
  {
    operationId: 'createWebhookEndpoint',
    method: 'post',
    path: '/webhook_endpoints',
    summary: 'Create a webhook endpoint',
    description: 'The answer holds the signing `secret`, this once. The URL must be HTTPS to a public address. No Idempotency-Key: a repeated create is a second endpoint.',
    tags: ['webhook_endpoints'],
    body: { name: 'CreateWebhookEndpointRequest', zod: createWebhookEndpointBodySchema },
    responses: { 201: { description: 'The endpoint, with its secret.', schema: WebhookEndpointWithSecret } },
  },
  {
    operationId: 'listWebhookEndpoints',
    method: 'get',
    path: '/webhook_endpoints',
    summary: "List the merchant's webhook endpoints, newest first",
    tags: ['webhook_endpoints'],
    query: listWebhookEndpointsQuerySchema,
    responses: { 200: { description: 'A page of endpoints, without secrets.', schema: { name: 'WebhookEndpointList', zod: webhookEndpointListSchema } } },
  },
  {
    operationId: 'getWebhookEndpoint',
    method: 'get',
    path: '/webhook_endpoints/{id}',
    summary: 'Get a webhook endpoint',
    description: '`status` is `disabled` (with `disabled_reason`) after its deliveries failed for the whole retry window (3 days), or when the merchant disabled it.',
    tags: ['webhook_endpoints'],
    pathParameters: endpointId,
    responses: { 200: { description: 'The endpoint, without its secret.', schema: WebhookEndpoint } },
  },
  {
    operationId: 'updateWebhookEndpoint',
    method: 'post',
    path: '/webhook_endpoints/{id}',
    summary: 'Update a webhook endpoint; `disabled: false` re-enables it',
    description: 'Changes only the fields given. It sets state: the same request again answers the same endpoint. Deliveries dropped while it was disabled are sent again with POST /events/{id}/resend.',
    tags: ['webhook_endpoints'],
    pathParameters: endpointId,
    body: { name: 'UpdateWebhookEndpointRequest', zod: updateWebhookEndpointBodySchema, optional: true },
    responses: { 200: { description: 'The endpoint as it is now, without its secret.', schema: WebhookEndpoint } },
  },
  {
    operationId: 'deleteWebhookEndpoint',
    method: 'delete',
    path: '/webhook_endpoints/{id}',
    summary: 'Delete a webhook endpoint',
    description: 'Deliveries queued for it are dropped.',
    tags: ['webhook_endpoints'],
    pathParameters: endpointId,
    responses: { 200: { description: 'The endpoint is deleted.', schema: { name: 'DeletedWebhookEndpoint', zod: deletedWebhookEndpointSchema } } },
  },
  {
    operationId: 'rollWebhookEndpointSecret',
    method: 'post',
    path: '/webhook_endpoints/{id}/roll_secret',
    summary: "Roll a webhook endpoint's signing secret",
    description: 'The answer holds the new secret, this once; the old one keeps signing (two `v1=` signatures) for `expires_in_seconds` (default 86 400).',
    tags: ['webhook_endpoints'],
    pathParameters: endpointId,
    body: { name: 'RollWebhookSecretRequest', zod: rollWebhookSecretBodySchema, optional: true },
    responses: { 200: { description: 'The endpoint, with its new secret.', schema: WebhookEndpointWithSecret } },
  },
];

const HEADER_DOCS: Record<string, { description: string; schema: Record<string, unknown> }> = {
  [REQUEST_ID_HEADER]: { description: 'The request id: quote it when asking about a request.', schema: { type: 'string' } },
  Location: { description: 'The path of the created payment.', schema: { type: 'string' } },
  [IDEMPOTENT_REPLAYED_HEADER]: { description: '`true` when this is the stored answer of an earlier request with the same Idempotency-Key.', schema: { type: 'string', enum: ['true'] } },
  [RETRY_AFTER_HEADER]: { description: 'Seconds to wait before retrying (409 idempotency_key_in_use, 409 resource_busy, 429).', schema: { type: 'string' } },
};

type JsonSchema = Record<string, unknown>;

/** A zod schema as an OpenAPI 3.1 schema object (JSON Schema 2020-12 without `$schema`). */
function jsonSchemaOf(schema: $ZodType, io: 'input' | 'output'): JsonSchema {
  const { $schema: _, ...rest } = toJSONSchema(schema, { target: 'draft-2020-12', io, unrepresentable: 'throw' }) as JsonSchema;
  return rest;
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

function queryParameters(query: $ZodType): JsonSchema[] {
  const schema = jsonSchemaOf(query, 'input');
  const properties = (schema.properties ?? {}) as Record<string, JsonSchema>;
  const required = new Set((schema.required ?? []) as string[]);
  return Object.entries(properties).map(([name, property]) => ({ name, in: 'query', required: required.has(name), schema: property }));
}

export function buildOpenApiDocument(operations: readonly ApiOperation[] = API_OPERATIONS): JsonSchema {
  const schemas: Record<string, JsonSchema> = { Error: jsonSchemaOf(errorBodySchema, 'output') };
  const register = ({ name, zod }: { name: string; zod: $ZodType }, io: 'input' | 'output') => {
    schemas[name] ??= jsonSchemaOf(zod, io);
    return ref(name);
  };
  const headers = (names: readonly string[]) => Object.fromEntries(
    [REQUEST_ID_HEADER, ...names].map((name) => [name, { ...HEADER_DOCS[name], required: name === REQUEST_ID_HEADER || name === 'Location' }]),
  );

  const paths: Record<string, Record<string, unknown>> = {};
  for (const operation of operations) {
    const parameters: JsonSchema[] = [
      ...Object.entries(operation.pathParameters ?? {}).map(([name, description]) => ({ name, in: 'path', required: true, description, schema: { type: 'string' } })),
      ...(operation.query ? queryParameters(operation.query) : []),
      ...(operation.idempotent
        ? [{
            name: IDEMPOTENCY_KEY_HEADER,
            in: 'header',
            required: true,
            description: 'One key per logical operation, reused on every retry; scoped to the merchant. Printable ASCII.',
            schema: { type: 'string', minLength: 1, maxLength: MAX_IDEMPOTENCY_KEY_LENGTH },
          }]
        : []),
    ];
    const responses: Record<string, unknown> = {};
    for (const [status, response] of Object.entries(operation.responses)) {
      responses[status] = {
        description: response.description,
        headers: headers(response.headers ?? []),
        content: { 'application/json': { schema: register(response.schema, 'output') } },
      };
    }
    responses.default = {
      description: 'An error, in the one error shape (see the README\'s error table). 409 and 429 carry Retry-After.',
      headers: headers([RETRY_AFTER_HEADER]),
      content: { 'application/json': { schema: ref('Error') } },
    };
    paths[operation.path] ??= {};
    paths[operation.path]![operation.method] = {
      operationId: operation.operationId,
      summary: operation.summary,
      ...(operation.description ? { description: operation.description } : {}),
      tags: operation.tags,
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(operation.body
        ? { requestBody: { required: !operation.body.optional, content: { 'application/json': { schema: register(operation.body, 'output') } } } }
        : {}),
      responses,
    };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Payflow API',
      version: 'v1',
      description:
        'An idempotent payments API. Money is an integer number of the currency\'s minor unit. Creating a payment or a refund needs an ' +
        'Idempotency-Key; the event and webhook endpoint POSTs take none. ' +
        'Lists are `{"object":"list","data":[…],"has_more":boolean}`, newest first, paged with `limit` and `starting_after`. ' +
        'Events are delivered to webhook endpoints at least once and possibly out of order, signed in the `Payflow-Signature` header.',
    },
    servers: [{ url: 'https://{api}.execute-api.{region}.amazonaws.com/v1', variables: { api: { default: 'api-id' }, region: { default: 'us-east-1' } } }, { url: 'http://127.0.0.1:3000/v1' }],
    security: [{ apiKey: [] }],
    tags: [{ name: 'payments' }, { name: 'refunds' }, { name: 'events' }, { name: 'webhook_endpoints' }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } },
      schemas,
    },
  };
}

/** The document as `npm run openapi` writes it: stable key order, two-space indent, a final newline. */
export const openApiText = (document: JsonSchema = buildOpenApiDocument()) => `${JSON.stringify(document, null, 2)}\n`;
