/** What the events API, the event recorder and the webhook dispatcher need from the store of events and endpoints. */
import type { MerchantEvent, SigningSecrets, WebhookEndpoint } from '#domain/webhooks';

export interface EventPage {
  events: MerchantEvent[];
  hasMore: boolean;
}

/** What POST /v1/webhook_endpoints/{id} may change; `status: 'enabled'` also clears the disabled reason. */
export type EndpointChanges = Partial<Pick<WebhookEndpoint, 'url' | 'enabledEvents' | 'status' | 'disabledReason'>>;

export interface WebhooksStore {
  /** Stores the event once (kept 30 days); recording the same event again changes nothing. */
  recordEvent(event: MerchantEvent): Promise<void>;
  getEvent(merchantId: string, eventId: string): Promise<MerchantEvent | undefined>;
  /** Newest first, strictly older than `startingAfter` (an event id) when given. */
  listEvents(merchantId: string, options: { limit: number; startingAfter?: string; type?: string }): Promise<EventPage>;

  /** Stores the endpoint and its signing secret (encrypted). */
  createEndpoint(endpoint: WebhookEndpoint, secret: string): Promise<void>;
  /** The endpoint, without its secrets. */
  getEndpoint(merchantId: string, endpointId: string): Promise<WebhookEndpoint | undefined>;
  /** The endpoint, and its secrets decrypted on demand (only to sign a delivery). */
  getSigningEndpoint(merchantId: string, endpointId: string): Promise<{ endpoint: WebhookEndpoint; secrets(): Promise<SigningSecrets> } | undefined>;
  /** Every endpoint of the merchant, newest first, without secrets. */
  listEndpoints(merchantId: string): Promise<WebhookEndpoint[]>;
  /** false when there was no such endpoint. */
  deleteEndpoint(merchantId: string, endpointId: string): Promise<boolean>;
  /** Replaces the secret (stored encrypted), keeping the previous one signing until `previousSecretExpiresAt`; undefined when there is no such endpoint. */
  rollSecret(merchantId: string, endpointId: string, roll: { secret: string; previousSecretExpiresAt: number }): Promise<WebhookEndpoint | undefined>;
  disableEndpoint(merchantId: string, endpointId: string, reason: string): Promise<void>;
  /** Applies the changes and answers the endpoint as it is now; undefined when there is no such endpoint. */
  updateEndpoint(merchantId: string, endpointId: string, changes: EndpointChanges): Promise<WebhookEndpoint | undefined>;
}
