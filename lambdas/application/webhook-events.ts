import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '#commons/powertools';
import { MalformedEventError, toOutboxEvent, type EntityChange, type OutboxEvent } from '#domain/events';
import {
  DEFAULT_RETRY_SCHEDULE,
  eventView,
  isEventId,
  newWebhookEndpointId,
  newWebhookSecret,
  nextRetryDelaySeconds,
  signatureHeader,
  signingSecrets,
  SIGNATURE_HEADER,
  toMerchantEvent,
  wantsEvent,
  webhookUrlProblem,
  WEBHOOK_ENDPOINT_ID_PATTERN,
  type MerchantEvent,
  type RetrySchedule,
  type WebhookEndpoint,
} from '#domain/webhooks';
import type { OutboundQueue, OutgoingMessage } from '#ports/queues';
import type { DeliveryRequest, WebhookSender } from '#ports/webhook-deliveries';
import type { EndpointChanges, EventPage, WebhooksStore } from '#ports/webhooks-store';
import { EventNotVisible, InvalidCursor, WebhookEndpointNotVisible, WebhookUrlRefused } from './errors.ts';

/** SQS's longest message delay: a longer wait is chained through several deliveries of the message. */
export const MAX_QUEUE_DELAY_SECONDS = 900;
const nowSeconds = () => Math.floor(Date.now() / 1000);

const deliveryMessage = (request: DeliveryRequest, delaySeconds = 0): OutgoingMessage => ({
  key: `${request.eventId}/${request.endpointId}/${request.attempt}`,
  payload: request,
  ...(delaySeconds > 0 ? { delaySeconds: Math.min(MAX_QUEUE_DELAY_SECONDS, Math.ceil(delaySeconds)) } : {}),
});

/** Queues one first attempt per endpoint of the merchant that wants the event. */
async function scheduleDeliveries(event: MerchantEvent, endpoints: readonly WebhookEndpoint[], deliveries: OutboundQueue): Promise<Map<string, Error>> {
  const at = nowSeconds();
  const messages = endpoints
    .filter((endpoint) => wantsEvent(endpoint, event.type))
    .map((endpoint) => deliveryMessage({ merchantId: event.merchantId, eventId: event.id, endpointId: endpoint.id, attempt: 1, firstScheduledAt: at }));
  return deliveries.send(messages);
}

export interface RecordEventsDependencies<StreamRecord> {
  changeOf(record: StreamRecord): EntityChange;
  keyOf(record: StreamRecord): string;
  /** The payment or refund of an outbox change as the API shows it. */
  viewOf(change: OutboxEvent): Record<string, unknown>;
  store: WebhooksStore;
  deliveries: OutboundQueue;
}

/**
 * The event recorder: a second consumer of the Payments table's stream, apart from the relay, so that
 * nothing here can hold back or slow a saga. Each payment or refund status change becomes a merchant
 * event (stored 30 days) and one queued delivery per endpoint that wants it. A record processed twice
 * (a retried batch) stores the same event once and may queue its deliveries twice: receivers dedupe by
 * event id. Returns the failed records' errors by key.
 */
export function recordEvents<StreamRecord>({ changeOf, keyOf, viewOf, store, deliveries }: RecordEventsDependencies<StreamRecord>) {
  return async (records: readonly StreamRecord[]): Promise<Map<string, Error>> => {
    const failures = new Map<string, Error>();
    const endpointsByMerchant = new Map<string, Promise<WebhookEndpoint[]>>();
    let recorded = 0;
    await Promise.all(records.map(async (record) => {
      const key = keyOf(record);
      let change: OutboxEvent | null;
      try {
        change = toOutboxEvent(changeOf(record));
      } catch (error) {
        // The relay keeps such a record whole in its dead-letter queue; there is nothing to tell a merchant.
        if (error instanceof MalformedEventError) {
          logger.warn('Stream record is not an event; skipped', { key, reason: error.message });
          return;
        }
        throw error;
      }
      if (!change) return;
      try {
        const event = toMerchantEvent(change, viewOf);
        await store.recordEvent(event);
        recorded++;
        let endpoints = endpointsByMerchant.get(event.merchantId);
        if (!endpoints) endpointsByMerchant.set(event.merchantId, (endpoints = store.listEndpoints(event.merchantId)));
        const sendFailures = await scheduleDeliveries(event, await endpoints, deliveries);
        const failure = sendFailures.values().next().value;
        if (failure) failures.set(key, failure);
      } catch (error) {
        failures.set(key, error instanceof Error ? error : new Error(String(error)));
      }
    }));
    metrics.addMetric('MerchantEventsRecorded', MetricUnit.Count, recorded);
    if (failures.size > 0) logger.warn('Some events were not recorded or scheduled; they will be retried', { failed: failures.size });
    return failures;
  };
}

/** GET /v1/events */
export const listEvents = (store: WebhooksStore) =>
  async ({ merchantId, limit, startingAfter, type }: { merchantId: string; limit: number; startingAfter?: string; type?: string }): Promise<EventPage> => {
    // A cursor that is not an event id of this API finds nothing after it; refuse it instead.
    if (startingAfter !== undefined && !isEventId(startingAfter)) throw new EventNotVisible();
    return store.listEvents(merchantId, { limit, startingAfter, type });
  };

/** GET /v1/events/{id} */
export const getEvent = (store: WebhooksStore) =>
  async ({ merchantId, eventId }: { merchantId: string; eventId: string | undefined }): Promise<MerchantEvent> => {
    const event = eventId && isEventId(eventId) ? await store.getEvent(merchantId, eventId) : undefined;
    if (!event) throw new EventNotVisible();
    return event;
  };

/** POST /v1/events/{id}/resend: a new delivery (first attempt, new retry window) to every enabled endpoint that wants it, or to one. */
export const resendEvent = (store: WebhooksStore, deliveries: OutboundQueue) =>
  async ({ merchantId, eventId, endpointId }: { merchantId: string; eventId: string | undefined; endpointId?: string }): Promise<{ event: MerchantEvent; endpoints: string[] }> => {
    const event = await getEvent(store)({ merchantId, eventId });
    let endpoints = (await store.listEndpoints(merchantId)).filter((endpoint) => wantsEvent(endpoint, event.type));
    if (endpointId !== undefined) {
      endpoints = endpoints.filter((endpoint) => endpoint.id === endpointId);
      if (endpoints.length === 0) throw new WebhookEndpointNotVisible();
    }
    const failures = await scheduleDeliveries(event, endpoints, deliveries);
    const failure = failures.values().next().value;
    if (failure) throw failure;
    return { event, endpoints: endpoints.map((endpoint) => endpoint.id) };
  };

export interface EndpointInput {
  url: string;
  enabledEvents: string[];
}

/** POST /v1/webhook_endpoints: the secret is in the answer this once. */
export const createWebhookEndpoint = (store: WebhooksStore, devMode: boolean) =>
  async ({ merchantId, url, enabledEvents }: { merchantId: string } & EndpointInput): Promise<WebhookEndpoint & { secret: string }> => {
    const problem = webhookUrlProblem(url, devMode);
    if (problem) throw new WebhookUrlRefused(problem);
    const endpoint: WebhookEndpoint = {
      id: newWebhookEndpointId(),
      merchantId,
      url,
      enabledEvents: [...new Set(enabledEvents)],
      status: 'enabled',
      created: nowSeconds(),
    };
    const secret = newWebhookSecret();
    await store.createEndpoint(endpoint, secret);
    return { ...endpoint, secret };
  };

const visibleEndpoint = async (store: WebhooksStore, merchantId: string, endpointId: string | undefined): Promise<WebhookEndpoint> => {
  const endpoint = endpointId && WEBHOOK_ENDPOINT_ID_PATTERN.test(endpointId) ? await store.getEndpoint(merchantId, endpointId) : undefined;
  if (!endpoint) throw new WebhookEndpointNotVisible();
  return endpoint;
};

export const getWebhookEndpoint = (store: WebhooksStore) => ({ merchantId, endpointId }: { merchantId: string; endpointId: string | undefined }) =>
  visibleEndpoint(store, merchantId, endpointId);

/**
 * GET /v1/webhook_endpoints: a page of the merchant's endpoints, newest first (creation second, then id). A merchant
 * has a handful, all read in one query; the page is what follows the cursor's endpoint in that order. An endpoint's
 * place never changes, so none that existed when the first page was read is skipped or repeated, however many are
 * created meanwhile. The cursor must be one of the merchant's endpoints.
 */
export const listWebhookEndpoints = (store: WebhooksStore) =>
  async ({ merchantId, limit, startingAfter }: { merchantId: string; limit: number; startingAfter?: string }): Promise<{ items: WebhookEndpoint[]; hasMore: boolean }> => {
    const endpoints = await store.listEndpoints(merchantId);
    let start = 0;
    if (startingAfter !== undefined) {
      const cursor = endpoints.findIndex((endpoint) => endpoint.id === startingAfter);
      if (cursor < 0) throw new InvalidCursor();
      start = cursor + 1;
    }
    return { items: endpoints.slice(start, start + limit), hasMore: endpoints.length > start + limit };
  };

/**
 * POST /v1/webhook_endpoints/{id}: changes the URL, the event types or whether it is disabled. `disabled: false`
 * re-enables an endpoint the dispatcher disabled (deliveries dropped meanwhile are resent with POST
 * /v1/events/{id}/resend). It sets state, so the same request again answers the same endpoint.
 */
export const updateWebhookEndpoint = (store: WebhooksStore, devMode: boolean) =>
  async ({ merchantId, endpointId, url, enabledEvents, disabled }: { merchantId: string; endpointId: string | undefined } & Partial<EndpointInput> & { disabled?: boolean }): Promise<WebhookEndpoint> => {
    const endpoint = await visibleEndpoint(store, merchantId, endpointId);
    if (url !== undefined) {
      const problem = webhookUrlProblem(url, devMode);
      if (problem) throw new WebhookUrlRefused(problem);
    }
    const changes: EndpointChanges = {};
    if (url !== undefined) changes.url = url;
    if (enabledEvents !== undefined) changes.enabledEvents = [...new Set(enabledEvents)];
    if (disabled === true) Object.assign(changes, { status: 'disabled', disabledReason: DISABLED_BY_MERCHANT });
    if (disabled === false) changes.status = 'enabled';
    if (Object.keys(changes).length === 0) return endpoint;
    const updated = await store.updateEndpoint(merchantId, endpoint.id, changes);
    if (!updated) throw new WebhookEndpointNotVisible();
    return updated;
  };
export const DISABLED_BY_MERCHANT = 'disabled by the merchant';

export const deleteWebhookEndpoint = (store: WebhooksStore) =>
  async ({ merchantId, endpointId }: { merchantId: string; endpointId: string | undefined }): Promise<string> => {
    const endpoint = await visibleEndpoint(store, merchantId, endpointId);
    if (!(await store.deleteEndpoint(merchantId, endpoint.id))) throw new WebhookEndpointNotVisible();
    return endpoint.id;
  };

/** POST /v1/webhook_endpoints/{id}/roll_secret: a new secret; the old one keeps signing (both signatures sent) for `overlapSeconds`. */
export const rollWebhookSecret = (store: WebhooksStore) =>
  async ({ merchantId, endpointId, overlapSeconds }: { merchantId: string; endpointId: string | undefined; overlapSeconds: number }): Promise<WebhookEndpoint & { secret: string }> => {
    const endpoint = await visibleEndpoint(store, merchantId, endpointId);
    const secret = newWebhookSecret();
    const rolled = await store.rollSecret(merchantId, endpoint.id, { secret, previousSecretExpiresAt: nowSeconds() + overlapSeconds });
    if (!rolled) throw new WebhookEndpointNotVisible();
    return { ...rolled, secret };
  };

export interface DeliverWebhookDependencies {
  store: WebhooksStore;
  sender: WebhookSender;
  /** The delivery queue itself: a retry is a new message with a delay. */
  deliveries: OutboundQueue;
  /** The webhook DLQ: deliveries given up after the retry window, with their last status and error. */
  deadLetters: OutboundQueue;
  /** Each value not set (NaN) is the default's (3 days of retries). */
  schedule?: RetrySchedule;
  random?: () => number;
}

export type { DeliveryRequest };

/**
 * The dispatcher: one attempt to deliver one event to one endpoint. A 2xx (within the sender's timeout)
 * is done. Anything else is tried again after an exponential, fully jittered delay, until the retry window
 * (3 days) is over: then the delivery goes to the webhook DLQ with its last status and error, and the
 * endpoint is disabled. Throws only when the store or a queue failed (the message is then redelivered).
 */
export function deliverWebhook({ store, sender, deliveries, deadLetters, schedule: given = DEFAULT_RETRY_SCHEDULE, random = Math.random }: DeliverWebhookDependencies) {
  const schedule = Object.fromEntries(
    Object.entries(DEFAULT_RETRY_SCHEDULE).map(([name, fallback]) => [name, Number.isFinite(given[name as keyof RetrySchedule]) ? given[name as keyof RetrySchedule] : fallback]),
  ) as unknown as RetrySchedule;
  const sendOrThrow = async (queue: OutboundQueue, message: OutgoingMessage) => {
    const failure = (await queue.send([message])).values().next().value;
    if (failure) throw failure;
  };
  return async (request: DeliveryRequest): Promise<'delivered' | 'waiting' | 'retrying' | 'dead_lettered' | 'dropped'> => {
    const now = nowSeconds();
    if (request.notBefore !== undefined && request.notBefore > now) {
      await sendOrThrow(deliveries, deliveryMessage(request, request.notBefore - now));
      return 'waiting';
    }
    const [signing, event] = await Promise.all([store.getSigningEndpoint(request.merchantId, request.endpointId), store.getEvent(request.merchantId, request.eventId)]);
    // Deleted or disabled since it was queued, or the event expired: nothing to deliver.
    if (!signing || signing.endpoint.status !== 'enabled' || !event) return 'dropped';
    const { endpoint } = signing;
    const secrets = await signing.secrets();

    const body = JSON.stringify(eventView(event));
    const result = await sender.post(endpoint.url, body, {
      'Content-Type': 'application/json',
      [SIGNATURE_HEADER]: signatureHeader(body, signingSecrets(secrets, now), now),
      'User-Agent': 'Payflow-Webhooks/1',
    });
    if (result.status !== undefined && result.status >= 200 && result.status < 300) {
      metrics.addMetric('WebhookDelivered', MetricUnit.Count, 1);
      return 'delivered';
    }
    metrics.addMetric('WebhookAttemptFailed', MetricUnit.Count, 1);
    const failed: DeliveryRequest = {
      ...request,
      ...(result.status === undefined ? {} : { lastStatus: result.status }),
      ...(result.error === undefined ? {} : { lastError: result.error.slice(0, 500) }),
    };
    const delay = nextRetryDelaySeconds(schedule, request.attempt, now - request.firstScheduledAt, random);
    if (delay === null) {
      logger.warn('Webhook delivery given up after its retry window; endpoint disabled', {
        eventId: request.eventId, endpointId: request.endpointId, attempts: request.attempt, lastStatus: failed.lastStatus, lastError: failed.lastError,
      });
      await sendOrThrow(deadLetters, { key: request.eventId, payload: { ...failed, gaveUpAt: now }, attributes: { origin: 'webhook-dispatcher', reason: 'retry window over' } });
      await store.disableEndpoint(request.merchantId, request.endpointId, `deliveries failed for ${schedule.windowSeconds} s`);
      metrics.addMetric('WebhookEndpointDisabled', MetricUnit.Count, 1);
      return 'dead_lettered';
    }
    await sendOrThrow(deliveries, deliveryMessage({ ...failed, attempt: request.attempt + 1, notBefore: now + Math.ceil(delay) }, delay));
    return 'retrying';
  };
}
