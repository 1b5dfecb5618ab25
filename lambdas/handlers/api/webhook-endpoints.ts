import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rollWebhookSecret,
  updateWebhookEndpoint,
} from '#application/webhook-events';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { kmsEnvelopeCipherFromSettings } from '#adapters/kms/envelope-cipher';
import { setting } from '#commons/environment';
import { apiHandler, jsonResponse, merchantIdOf, parseJsonBody, parseQuery } from '#commons/http';
import { resourceNotFound } from '#contract/errors';
import { DEFAULT_LIST_LIMIT, toListView } from '#contract/lists';
import {
  createWebhookEndpointBodySchema,
  DEFAULT_ROLL_OVERLAP_SECONDS,
  listWebhookEndpointsQuerySchema,
  rollWebhookSecretBodySchema,
  toWebhookEndpointView,
  updateWebhookEndpointBodySchema,
} from '#contract/webhooks';

// Stores new secrets sealed with a KMS data key (GenerateDataKey); it never decrypts one.
// Only creating an endpoint and rolling its secret seal one: the other routes never need the KMS client.
const store = webhooksTableFromSettings(kmsEnvelopeCipherFromSettings({ clientOnFirstUse: true }));
const devMode = setting('webhookDevMode') === 'true';
const create = createWebhookEndpoint(store, devMode);
const get = getWebhookEndpoint(store);
const list = listWebhookEndpoints(store);
const update = updateWebhookEndpoint(store, devMode);
const remove = deleteWebhookEndpoint(store);
const roll = rollWebhookSecret(store);

/** /v1/webhook_endpoints: create (the secret is answered this once), list, get, update, delete, roll the secret. One use case per route. */
export const handler = apiHandler('webhook-endpoints', async (event) => {
  const merchantId = merchantIdOf(event);
  const endpointId = event.pathParameters?.id;
  switch (`${event.httpMethod} ${event.resource}`) {
    case 'POST /webhook_endpoints': {
      const body = parseJsonBody(event, createWebhookEndpointBodySchema);
      const endpoint = await create({ merchantId, url: body.url, enabledEvents: body.enabled_events });
      return jsonResponse(201, toWebhookEndpointView(endpoint, { withSecret: true }));
    }
    case 'GET /webhook_endpoints': {
      const query = parseQuery(event, listWebhookEndpointsQuerySchema);
      const page = await list({ merchantId, limit: query.limit ?? DEFAULT_LIST_LIMIT, startingAfter: query.starting_after });
      return jsonResponse(200, toListView(page, (endpoint) => toWebhookEndpointView(endpoint)));
    }
    case 'GET /webhook_endpoints/{id}':
      return jsonResponse(200, toWebhookEndpointView(await get({ merchantId, endpointId })));
    case 'POST /webhook_endpoints/{id}': {
      const body = parseJsonBody(event, updateWebhookEndpointBodySchema, { allowEmpty: true });
      const endpoint = await update({ merchantId, endpointId, url: body.url, enabledEvents: body.enabled_events, disabled: body.disabled });
      return jsonResponse(200, toWebhookEndpointView(endpoint));
    }
    case 'DELETE /webhook_endpoints/{id}':
      return jsonResponse(200, { id: await remove({ merchantId, endpointId }), object: 'webhook_endpoint', deleted: true });
    case 'POST /webhook_endpoints/{id}/roll_secret': {
      const body = parseJsonBody(event, rollWebhookSecretBodySchema, { allowEmpty: true });
      const endpoint = await roll({ merchantId, endpointId, overlapSeconds: body.expires_in_seconds ?? DEFAULT_ROLL_OVERLAP_SECONDS });
      return jsonResponse(200, toWebhookEndpointView(endpoint, { withSecret: true }));
    }
    default:
      throw resourceNotFound();
  }
});
