// The webhook endpoints API on DynamoDB Local and the runner's local KMS: the handler, its use cases and the
// Webhooks-table adapter. Paging in the one list shape, and re-enabling an endpoint the dispatcher disabled.
import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksTable } from '../../../lambdas/adapters/dynamodb/webhooks-table.ts';
import { KmsEnvelopeCipher } from '../../../lambdas/adapters/kms/envelope-cipher.ts';
import { LOCAL_IDENTITY } from '../../../tools/local-runner/identity.ts';
import { startLocalKms, type LocalKms } from '../../../tools/local-runner/kms/emulator.ts';
import { apiEvent, lambdaContext, type ApiRequest } from '../../support/api-events.ts';
import { createTestTables, documentClient } from '../../support/aws.ts';
import { toResponse, type Handler, type Response } from './helpers.ts';

let handler: Handler;
let table: WebhooksTable;
let kms: LocalKms;
beforeAll(async () => {
  const tables = await createTestTables();
  kms = await startLocalKms({ keys: [{ logicalId: 'SigningSecretsKey' }], identity: LOCAL_IDENTITY });
  const keyArn = kms.keys[0]!.arn;
  Object.assign(process.env, tables, { WEBHOOK_DEV_MODE: 'false', WEBHOOK_SIGNING_KEY_ARN: keyArn, AWS_ENDPOINT_URL_KMS: kms.endpoint });
  table = new WebhooksTable(tables.WEBHOOKS_TABLE_NAME!, documentClient(), new KmsEnvelopeCipher(keyArn, new KMSClient({ endpoint: kms.endpoint })));
  handler = (await import('../../../lambdas/handlers/api/webhook-endpoints.ts')).handler;
});
afterAll(() => kms?.close());

const newMerchant = () => `merchant-${randomUUID().slice(0, 8)}`;

async function send(merchant: string, method: ApiRequest['method'], resource: string, options: Pick<ApiRequest, 'body' | 'pathParameters' | 'query'> = {}): Promise<Response> {
  const event = apiEvent({ method, resource, apiKeyId: merchant, headers: { 'Content-Type': 'application/json' }, ...options });
  return toResponse(await handler(event, lambdaContext()));
}
const create = async (merchant: string, path = 'h') => {
  const created = await send(merchant, 'POST', '/webhook_endpoints', { body: { url: `https://example.com/${path}`, enabled_events: ['payment.succeeded'] } });
  expect(created.statusCode).toBe(201);
  return created.json as { id: string; secret: string };
};
const list = (merchant: string, query: Record<string, string> = {}) => send(merchant, 'GET', '/webhook_endpoints', { query: Object.entries(query) });
const update = (merchant: string, id: string, body: unknown) => send(merchant, 'POST', '/webhook_endpoints/{id}', { pathParameters: { id }, body });
const expectInvalid = (response: Response, status: number, code: string, param: string) => {
  expect(response.statusCode).toBe(status);
  expect(response.json.error).toMatchObject({ code, param });
};

describe('GET /v1/webhook_endpoints', () => {
  it('pages newest first in the list shape; none is skipped or repeated while endpoints are created between pages', async () => {
    const merchant = newMerchant();
    const existing: string[] = [];
    for (let i = 0; i < 5; i++) existing.push((await create(merchant, `e${i}`)).id);

    const first = await list(merchant);
    expect(first.statusCode).toBe(200);
    expect(Object.keys(first.json).sort()).toEqual(['data', 'has_more', 'object']);
    expect(first.json).toMatchObject({ object: 'list', has_more: false });
    const order: string[] = first.json.data.map((e: { id: string }) => e.id);
    expect(order.toSorted()).toEqual(existing.toSorted());
    expect(first.json.data.every((e: Record<string, unknown>) => !('secret' in e) && !('merchantId' in e))).toBe(true);

    const paged: string[] = [];
    let startingAfter: string | undefined;
    for (let pages = 0; pages < 10; pages++) {
      const page = await list(merchant, { limit: '2', ...(startingAfter ? { starting_after: startingAfter } : {}) });
      expect(page.statusCode).toBe(200);
      expect(page.json.data.length).toBeLessThanOrEqual(2);
      paged.push(...page.json.data.map((e: { id: string }) => e.id));
      await create(merchant, `new${pages}`);
      if (!page.json.has_more) break;
      startingAfter = page.json.data.at(-1).id;
    }
    expect(new Set(paged).size).toBe(paged.length);
    // The endpoints that existed come in the first listing's order; new ones may be interleaved, none is missing.
    expect(paged.filter((id) => existing.includes(id))).toEqual(order);
  });

  it('refuses a cursor that is not one of the merchant\'s endpoints, a bad limit and an unknown parameter', async () => {
    const merchant = newMerchant();
    const other = await create(newMerchant());
    expectInvalid(await list(merchant, { starting_after: other.id }), 400, 'parameter_invalid', 'starting_after');
    expectInvalid(await list(merchant, { starting_after: 'pay_1' }), 400, 'parameter_invalid', 'starting_after');
    expectInvalid(await list(merchant, { limit: '0' }), 400, 'parameter_invalid', 'limit');
    expectInvalid(await list(merchant, { colour: 'red' }), 400, 'parameter_unknown', 'colour');
  });
});

describe('POST /v1/webhook_endpoints/{id}', () => {
  it('`disabled: false` re-enables an endpoint the dispatcher disabled; the same request again answers the same endpoint', async () => {
    const merchant = newMerchant();
    const { id } = await create(merchant);
    await table.disableEndpoint(merchant, id, 'deliveries failed for 259200 s');
    const disabled = await send(merchant, 'GET', '/webhook_endpoints/{id}', { pathParameters: { id } });
    expect(disabled.json).toMatchObject({ status: 'disabled', disabled_reason: 'deliveries failed for 259200 s' });

    const enabled = await update(merchant, id, { disabled: false });
    expect(enabled.statusCode).toBe(200);
    expect(enabled.json).toMatchObject({ id, object: 'webhook_endpoint', status: 'enabled', url: 'https://example.com/h' });
    expect(enabled.json).not.toHaveProperty('disabled_reason');
    expect(enabled.json).not.toHaveProperty('secret');
    const again = await update(merchant, id, { disabled: false });
    expect(again.statusCode).toBe(200);
    expect(again.rawBody).toBe(enabled.rawBody);
    expect((await table.getEndpoint(merchant, id))).toMatchObject({ status: 'enabled' });
    expect((await table.getEndpoint(merchant, id))).not.toHaveProperty('disabledReason');
  });

  it('changes the URL and the event types, disables on request, and refuses what create refuses', async () => {
    const merchant = newMerchant();
    const { id, secret } = await create(merchant);
    const changed = await update(merchant, id, { url: 'https://example.org/new', enabled_events: ['refund.failed', 'refund.failed'] });
    expect(changed.json).toMatchObject({ url: 'https://example.org/new', enabled_events: ['refund.failed'], status: 'enabled' });
    expect((await update(merchant, id, { disabled: true })).json).toMatchObject({ status: 'disabled', disabled_reason: 'disabled by the merchant' });
    expect((await update(merchant, id, '')).json).toMatchObject({ id, status: 'disabled' });
    // The secret is untouched by an update.
    expect((await (await table.getSigningEndpoint(merchant, id))!.secrets()).secret).toBe(secret);

    expectInvalid(await update(merchant, id, { url: 'https://10.0.0.1/h' }), 400, 'parameter_invalid', 'url');
    expectInvalid(await update(merchant, id, { disabled: 'no' }), 400, 'parameter_invalid', 'disabled');
    expectInvalid(await update(merchant, id, { status: 'enabled' }), 400, 'parameter_unknown', 'status');
    const otherMerchant = await update(newMerchant(), id, { disabled: false });
    expect(otherMerchant.statusCode).toBe(404);
    expect(otherMerchant.json.error.code).toBe('resource_not_found');
    expect((await table.getEndpoint(merchant, id))).toMatchObject({ status: 'disabled', url: 'https://example.org/new' });
  });
});
