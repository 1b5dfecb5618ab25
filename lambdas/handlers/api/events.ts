import { getEvent, listEvents, resendEvent } from '#application/webhook-events';
import { webhooksTableFromSettings } from '#adapters/dynamodb/webhooks-table';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { apiHandler, jsonResponse, merchantIdOf, parseJsonBody, parseQuery } from '#commons/http';
import { parameterInvalid, resourceNotFound } from '#contract/errors';
import { DEFAULT_LIST_LIMIT, listPage } from '#contract/lists';
import { eventView, isEventIdText, listEventsQuerySchema, resendEventBodySchema } from '#contract/webhooks';

const store = webhooksTableFromSettings();
const list = listEvents(store);
const get = getEvent(store);
// Only POST /v1/events/{id}/resend sends: the reads never need the SQS client.
const resend = resendEvent(store, sqsQueueFromSettings('webhookDeliveryQueueUrl', { clientOnFirstUse: true }));

/** GET /v1/events, GET /v1/events/{id}, POST /v1/events/{id}/resend: one use case per route, merchant-scoped. */
export const handler = apiHandler('events', async (event) => {
  const merchantId = merchantIdOf(event);
  const route = `${event.httpMethod} ${event.resource}`;
  if (route === 'GET /events') {
    const query = parseQuery(event, listEventsQuerySchema);
    if (query.starting_after !== undefined && !isEventIdText(query.starting_after)) throw parameterInvalid('starting_after', 'starting_after must be an event id (evt_...)');
    const page = await list({ merchantId, limit: query.limit ?? DEFAULT_LIST_LIMIT, startingAfter: query.starting_after, type: query.type });
    return jsonResponse(200, listPage(page.events.map(eventView), page.hasMore));
  }
  if (route === 'GET /events/{id}') return jsonResponse(200, eventView(await get({ merchantId, eventId: event.pathParameters?.id })));
  if (route === 'POST /events/{id}/resend') {
    const body = parseJsonBody(event, resendEventBodySchema, { allowEmpty: true });
    const { event: resent, endpoints } = await resend({ merchantId, eventId: event.pathParameters?.id, endpointId: body.webhook_endpoint });
    return jsonResponse(202, { object: 'event_resend', event: resent.id, webhook_endpoints: endpoints });
  }
  throw resourceNotFound();
});
