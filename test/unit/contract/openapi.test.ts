// The OpenAPI document: generated from the contract's zod schemas, checked in up to date, valid JSON Schema 2020-12 that
// accepts what the handlers answer and refuses what they never would.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import * as z from 'zod/mini';
import { gatewayErrorBody, GATEWAY_ERRORS, type GatewayErrorType } from '../../../lib/api-errors.ts';
import { parameterInvalid, resourceBusy } from '../../../contract/errors.ts';
import { API_OPERATIONS, buildOpenApiDocument, openApiText } from '../../../contract/openapi.ts';
import { listSchema, toListView } from '../../../contract/lists.ts';
import { toPaymentView, toRefundView } from '../../../contract/resources.ts';
import { newPayment } from '../../../lambdas/domain/payment.ts';
import { newRefund } from '../../../lambdas/domain/refund.ts';
import { eventView, newWebhookEndpointId, newWebhookSecret, type MerchantEvent, type WebhookEndpoint } from '../../../lambdas/domain/webhooks.ts';
import { toWebhookEndpointView } from '../../../contract/webhooks.ts';
import { listPage } from '../../../contract/lists.ts';

const document = buildOpenApiDocument() as any;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, 'openapi.json');
const schema = (name: string) => ajv.compile({ $ref: `openapi.json#/components/schemas/${name}` });

const payment = newPayment({ id: 'pay_0123456789abcdef01234567', merchantId: 'm', amount: 2500, currency: 'EUR', source: 'tok_success', description: 'Order', metadata: { a: 'b' }, requestHash: 'h', now: new Date('2026-12-01T10:00:00.000Z') });
const refund = newRefund({ id: 're_0123456789abcdef01234567', payment, amount: 100, requestHash: 'h', now: new Date('2026-12-01T10:00:01.000Z') });

describe('docs/openapi.json', () => {
  it('is up to date with the schemas (run `npm run openapi` after changing the contract)', () => {
    expect(readFileSync(resolve(import.meta.dirname, '../../../docs/openapi.json'), 'utf8')).toBe(openApiText());
  });

  it('is OpenAPI 3.1 with every operation, each answering errors in the error shape', () => {
    expect(document.openapi).toBe('3.1.0');
    for (const operation of API_OPERATIONS) {
      const documented = document.paths[operation.path][operation.method];
      expect(documented.operationId).toBe(operation.operationId);
      expect(documented.responses.default.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/Error' });
    }
    expect(document.components.securitySchemes.apiKey).toEqual({ type: 'apiKey', in: 'header', name: 'x-api-key' });
  });

  it('documents the list query the handlers validate: limit 1–100, starting_after, status', () => {
    const parameters = document.paths['/payments'].get.parameters as Array<{ name: string; schema: any }>;
    expect(parameters.map((p) => p.name)).toEqual(['limit', 'starting_after', 'status']);
    expect(parameters[0]!.schema).toMatchObject({ type: 'integer', minimum: 1, maximum: 100 });
  });

  it('POSTs that create a payment or a refund require an Idempotency-Key header; the event and webhook endpoint POSTs take none', () => {
    for (const path of ['/payments', '/payments/{id}/refunds']) {
      expect(document.paths[path].post.parameters).toContainEqual(expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true }));
    }
    for (const path of ['/events/{id}/resend', '/webhook_endpoints', '/webhook_endpoints/{id}', '/webhook_endpoints/{id}/roll_secret']) {
      expect(document.paths[path].post.parameters ?? []).not.toContainEqual(expect.objectContaining({ name: 'Idempotency-Key' }));
    }
  });

  it('documents the events and webhook endpoint routes, their queries and optional bodies', () => {
    expect(Object.keys(document.paths).filter((path) => /^\/(events|webhook_endpoints)/.test(path)).flatMap((path) => Object.keys(document.paths[path]).map((method) => `${method.toUpperCase()} ${path}`)).sort()).toEqual([
      'DELETE /webhook_endpoints/{id}', 'GET /events', 'GET /events/{id}', 'GET /webhook_endpoints', 'GET /webhook_endpoints/{id}',
      'POST /events/{id}/resend', 'POST /webhook_endpoints', 'POST /webhook_endpoints/{id}', 'POST /webhook_endpoints/{id}/roll_secret',
    ]);
    expect(document.paths['/events'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'starting_after', 'type']);
    expect(document.paths['/webhook_endpoints'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'starting_after']);
    expect(document.paths['/webhook_endpoints'].post.requestBody.required).toBe(true);
    expect(document.paths['/webhook_endpoints/{id}/roll_secret'].post.requestBody.required).toBe(false);
    expect(document.components.schemas.UpdateWebhookEndpointRequest.properties.disabled).toEqual({ type: 'boolean' });
  });
});

describe('the schemas accept what the API answers, and refuse what it never would', () => {
  it('payment and refund views, alone and in lists', () => {
    expect(schema('Payment')(toPaymentView(payment))).toBe(true);
    expect(schema('Refund')(toRefundView(refund))).toBe(true);
    expect(schema('PaymentList')(toListView({ items: [payment], hasMore: true }, toPaymentView))).toBe(true);
    expect(schema('RefundList')(toListView({ items: [], hasMore: false }, toRefundView))).toBe(true);
  });

  it('a storage attribute leaking into a view, a float amount or a list without has_more is refused', () => {
    expect(schema('Payment')({ ...toPaymentView(payment), merchantId: 'm' })).toBe(false);
    expect(schema('Payment')({ ...toPaymentView(payment), amount: 25.5 })).toBe(false);
    expect(schema('PaymentList')({ object: 'list', data: [] })).toBe(false);
  });

  const endpoint: WebhookEndpoint & { secret: string } = { id: newWebhookEndpointId(), merchantId: 'm', url: 'https://example.com/h', enabledEvents: ['*'], status: 'enabled', created: 1_796_000_000, secret: newWebhookSecret() };
  const event = (object: Record<string, unknown>, type: MerchantEvent['type']): MerchantEvent => ({ id: `evt_${'0'.repeat(12)}${'ab'.repeat(10)}`, merchantId: 'm', type, created: 1_796_000_000, object });

  it('events carry the payment or refund view, alone, in lists and in a resend', () => {
    expect(schema('Event')(eventView(event(toPaymentView(payment), 'payment.succeeded')))).toBe(true);
    expect(schema('Event')(eventView(event(toRefundView(refund), 'refund.created')))).toBe(true);
    expect(schema('EventList')(listPage([eventView(event(toPaymentView(payment), 'payment.created'))], true))).toBe(true);
    expect(schema('Event')(eventView(event({ ...toPaymentView(payment), merchantId: 'm' }, 'payment.created')))).toBe(false);
    expect(schema('Event')({ ...eventView(event(toPaymentView(payment), 'payment.created')), type: 'payment.exploded' })).toBe(false);
    expect(schema('EventResend')({ object: 'event_resend', event: event({}, 'payment.created').id, webhook_endpoints: [endpoint.id] })).toBe(true);
  });

  it('a webhook endpoint shows its secret only where it is created or rolled', () => {
    const withSecret = toWebhookEndpointView(endpoint, { withSecret: true });
    expect(schema('WebhookEndpointWithSecret')(withSecret)).toBe(true);
    expect(schema('WebhookEndpoint')(toWebhookEndpointView(endpoint))).toBe(true);
    expect(schema('WebhookEndpoint')({ ...toWebhookEndpointView({ ...endpoint, status: 'disabled', disabledReason: 'failing' }) })).toBe(true);
    expect(schema('WebhookEndpoint')(withSecret)).toBe(false);
    expect(schema('WebhookEndpointWithSecret')(toWebhookEndpointView(endpoint))).toBe(false);
    expect(schema('WebhookEndpoint')({ ...toWebhookEndpointView(endpoint), previousSecret: 'whsec_x' })).toBe(false);
    expect(schema('WebhookEndpointList')(listPage([toWebhookEndpointView(endpoint)], false))).toBe(true);
    expect(schema('WebhookEndpointList')(listPage([withSecret], false))).toBe(false);
    expect(schema('DeletedWebhookEndpoint')({ id: endpoint.id, object: 'webhook_endpoint', deleted: true })).toBe(true);
  });

  it('every error body: the handlers\' and every gateway response', () => {
    const error = schema('Error');
    expect(error(parameterInvalid('amount', 'bad').toBody())).toBe(true);
    expect(error(resourceBusy().toBody())).toBe(true);
    for (const type of Object.keys(GATEWAY_ERRORS) as GatewayErrorType[]) {
      expect(error(JSON.parse(gatewayErrorBody(type))), type).toBe(true);
    }
    expect(error({ error: { type: 'oops', code: 'x', message: 'm' } })).toBe(false);
  });
});

describe('a route is added by registering its zod schemas', () => {
  it('a new operation appears with its query, response schema and the error default', () => {
    const disputeSchema = z.strictObject({ id: z.string(), object: z.literal('dispute'), reason: z.string() });
    const extended = buildOpenApiDocument([
      ...API_OPERATIONS,
      {
        operationId: 'listDisputes',
        method: 'get',
        path: '/disputes',
        summary: 'List disputes',
        tags: ['disputes'],
        query: z.extend(z.strictObject({ limit: z.optional(z.string()) }), { reason: z.optional(z.string()) }),
        responses: { 200: { description: 'A page of disputes.', schema: { name: 'DisputeList', zod: listSchema(disputeSchema) } } },
      },
    ]) as any;
    expect(extended.paths['/disputes'].get.parameters.map((p: { name: string }) => p.name)).toEqual(['limit', 'reason']);
    expect(extended.components.schemas.DisputeList.properties.object).toEqual({ type: 'string', const: 'list' });
    expect(extended.paths['/payments'].post.operationId).toBe('createPayment');
  });
});
