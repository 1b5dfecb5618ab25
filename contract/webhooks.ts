/** The wire contract of events and webhook endpoints (issue 11): request bodies and the views the API returns (their zod schemas: contract/view-schemas.ts). */
import * as z from 'zod/mini';
import { ALL_EVENTS, EVENT_TYPES, type WebhookEndpoint } from '#domain/webhooks';
import { listQuerySchema } from './lists.ts';
import './zod-messages.ts';

export { eventView, type EventView, SIGNATURE_HEADER, EVENT_TYPES } from '#domain/webhooks';

export const MAX_WEBHOOK_URL_LENGTH = 2048;
/** Longest overlap of a secret roll, during which both secrets sign: 7 days. */
export const MAX_ROLL_OVERLAP_SECONDS = 7 * 24 * 3600;
export const DEFAULT_ROLL_OVERLAP_SECONDS = 24 * 3600;

const enabledEventsMessage = `enabled_events must be a non-empty array of event types (${EVENT_TYPES.join(', ')}) or ["*"]`;

const urlSchema = z.string({ error: 'url must be a string' }).check(
  z.minLength(1, { error: 'url must not be empty' }),
  z.maxLength(MAX_WEBHOOK_URL_LENGTH, { error: `url must be at most ${MAX_WEBHOOK_URL_LENGTH} characters` }),
);
const enabledEventsSchema = z
  .array(z.enum([ALL_EVENTS, ...EVENT_TYPES], { error: enabledEventsMessage }), { error: enabledEventsMessage })
  .check(z.minLength(1, { error: enabledEventsMessage }), z.maxLength(EVENT_TYPES.length + 1, { error: enabledEventsMessage }));

/** Body of POST /v1/webhook_endpoints. */
export const createWebhookEndpointBodySchema = z.strictObject({
  url: urlSchema,
  enabled_events: enabledEventsSchema,
});
export type CreateWebhookEndpointBody = z.output<typeof createWebhookEndpointBodySchema>;

/**
 * Body of POST /v1/webhook_endpoints/{id} (may be empty): the fields to change. `disabled: false` re-enables an
 * endpoint (one disabled after its deliveries failed for the whole retry window, or by the merchant); the same
 * request again changes nothing and answers the same endpoint.
 */
export const updateWebhookEndpointBodySchema = z.strictObject({
  url: z.optional(urlSchema),
  enabled_events: z.optional(enabledEventsSchema),
  disabled: z.optional(z.boolean({ error: 'disabled must be true or false' })),
});
export type UpdateWebhookEndpointBody = z.output<typeof updateWebhookEndpointBodySchema>;

/** Body of POST /v1/webhook_endpoints/{id}/roll_secret (may be empty). */
export const rollWebhookSecretBodySchema = z.strictObject({
  expires_in_seconds: z.optional(
    z.int({ error: `expires_in_seconds must be an integer between 0 and ${MAX_ROLL_OVERLAP_SECONDS}` }).check(
      z.minimum(0, { error: `expires_in_seconds must be an integer between 0 and ${MAX_ROLL_OVERLAP_SECONDS}` }),
      z.maximum(MAX_ROLL_OVERLAP_SECONDS, { error: `expires_in_seconds must be an integer between 0 and ${MAX_ROLL_OVERLAP_SECONDS}` }),
    ),
  ),
});

/** Body of POST /v1/events/{id}/resend (may be empty: every endpoint that wants the event). */
export const resendEventBodySchema = z.strictObject({
  webhook_endpoint: z.optional(z.string({ error: 'webhook_endpoint must be an endpoint id' })),
});

/** Query of GET /v1/events: the list parameters and an optional `type`. */
export const listEventsQuerySchema = z.strictObject({
  ...listQuerySchema.shape,
  type: z.optional(z.enum(EVENT_TYPES, { error: `type must be one of ${EVENT_TYPES.join(', ')}` })),
});

/** GET /v1/webhook_endpoints: the list query (the cursor is an endpoint id). */
export const listWebhookEndpointsQuerySchema = listQuerySchema;

export interface WebhookEndpointView {
  id: string;
  object: 'webhook_endpoint';
  url: string;
  enabled_events: string[];
  status: 'enabled' | 'disabled';
  disabled_reason?: string;
  created: number;
  /** Only in the answer that created or rolled it. */
  secret?: string;
}

/** `withSecret`: the answer of a creation or a roll, the only ones that know the secret in plain text. */
export function toWebhookEndpointView(endpoint: WebhookEndpoint & { secret?: string }, { withSecret = false } = {}): WebhookEndpointView {
  return {
    id: endpoint.id,
    object: 'webhook_endpoint',
    url: endpoint.url,
    enabled_events: endpoint.enabledEvents,
    status: endpoint.status,
    ...(endpoint.disabledReason === undefined ? {} : { disabled_reason: endpoint.disabledReason }),
    created: endpoint.created,
    ...(withSecret ? { secret: endpoint.secret } : {}),
  };
}

export const isEventIdText = (value: string): boolean => /^evt_[0-9a-f]{32}$/.test(value);
