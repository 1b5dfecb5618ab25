import {
  createWebhookEndpoint,
  deleteWebhookEndpoint,
  getWebhookEndpoint,
  listWebhookEndpoints,
  rollWebhookSecret,
} from '#application/webhook-events';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { setting } from '#commons/environment';
import { apiHandler, jsonResponse, merchantIdOf, parseJsonBody } from '#commons/http';
import { resourceNotFound } from '#contract/errors';
import { listPage } from '#contract/lists';
import { createWebhookEndpointBodySchema, DEFAULT_ROLL_OVERLAP_SECONDS, rollWebhookSecretBodySchema, toWebhookEndpointView } from '#contract/webhooks';

const store = webhooksTableFromSettings();
const create = createWebhookEndpoint(store, setting('webhookDevMode') === 'true');
const get = getWebhookEndpoint(store);
const list = listWebhookEndpoints(store);
const remove = deleteWebhookEndpoint(store);
const roll = rollWebhookSecret(store);

/** /v1/webhook_endpoints: create (the secret is answered this once), list, get, delete, roll the secret. One use case per route. */
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
      const endpoints = await list({ merchantId });
      return jsonResponse(200, listPage(endpoints.map((endpoint) => toWebhookEndpointView(endpoint)), false));
    }
    case 'GET /webhook_endpoints/{id}':
      return jsonResponse(200, toWebhookEndpointView(await get({ merchantId, endpointId })));
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
