/**
 * The API's OpenAPI 3.1 document, generated from the zod schemas the handlers validate requests with
 * (contract/requests.ts, contract/lists.ts) and the views they answer with (contract/resources.ts).
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
import { listQuerySchema } from './lists.ts';
import { createPaymentBodySchema, createRefundBodySchema, listPaymentsQuerySchema, MAX_IDEMPOTENCY_KEY_LENGTH } from './requests.ts';
import { paymentListSchema, paymentViewSchema, refundListSchema, refundViewSchema } from './resources.ts';

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
  body?: { name: string; zod: $ZodType };
  /** An `Idempotency-Key` header is required. */
  idempotent?: boolean;
  responses: Readonly<Record<number, ApiResponse>>;
}

const Payment = { name: 'Payment', zod: paymentViewSchema };
const Refund = { name: 'Refund', zod: refundViewSchema };
const paymentId = { id: 'The payment id (`pay_…`).' };

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
        ? { requestBody: { required: true, content: { 'application/json': { schema: register(operation.body, 'output') } } } }
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
        'An idempotent payments API. Money is an integer number of the currency\'s minor unit. Every POST needs an Idempotency-Key. ' +
        'Lists are `{"object":"list","data":[…],"has_more":boolean}`, newest first, paged with `limit` and `starting_after`.',
    },
    servers: [{ url: 'https://{api}.execute-api.{region}.amazonaws.com/v1', variables: { api: { default: 'api-id' }, region: { default: 'us-east-1' } } }, { url: 'http://127.0.0.1:3000/v1' }],
    security: [{ apiKey: [] }],
    tags: [{ name: 'payments' }, { name: 'refunds' }],
    paths,
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER } },
      schemas,
    },
  };
}

/** The document as `npm run openapi` writes it: stable key order, two-space indent, a final newline. */
export const openApiText = (document: JsonSchema = buildOpenApiDocument()) => `${JSON.stringify(document, null, 2)}\n`;
