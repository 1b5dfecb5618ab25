/**
 * The zod schemas of the views the API answers with (contract/resources.ts, contract/webhooks.ts), for the
 * OpenAPI document (contract/openapi.ts), and the checks that the views' types are what they describe. Apart
 * from the views' functions: a handler answers with those and never parses its own answers, and the schemas,
 * built at import, would be in the bundle of every function that answers a payment, a refund, an event or an
 * endpoint, and cost each of its cold starts (DESIGN §9).
 */
import * as z from 'zod/mini';
import { SUPPORTED_CURRENCIES } from '#domain/money';
import { PAYMENT_STATUSES } from '#domain/payment';
import { REFUND_REASONS, REFUND_STATUSES } from '#domain/refund';
import { ALL_EVENTS, EVENT_TYPES, type EventView } from '#domain/webhooks';
import { listSchema } from './lists.ts';
import type { PaymentView, RefundView } from './resources.ts';
import type { WebhookEndpointView } from './webhooks.ts';

const minorUnits = z.int().check(z.minimum(0));
const timestamp = z.iso.datetime();
const metadata = z.record(z.string(), z.string());
const paymentStatus = z.enum(PAYMENT_STATUSES);
z.globalRegistry.add(paymentStatus, {
  description: '`pending` until the saga settles the payment: `succeeded` or `failed`, then `partially_refunded` or `refunded`. `processing` is no longer written: only a payment an earlier version left in flight shows it, until it settles.',
});

export const paymentViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^pay_[0-9a-f]{24}$/)),
  object: z.literal('payment'),
  amount: minorUnits,
  currency: z.enum(SUPPORTED_CURRENCIES),
  status: paymentStatus,
  source: z.string(),
  description: z.optional(z.string()),
  metadata: z.optional(metadata),
  failureCode: z.optional(z.string()),
  requestId: z.optional(z.string()),
  amountCaptured: minorUnits,
  amountRefunded: minorUnits,
  amountRefundable: minorUnits,
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const refundViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^re_[0-9a-f]{24}$/)),
  object: z.literal('refund'),
  paymentId: z.string().check(z.regex(/^pay_[0-9a-f]{24}$/)),
  amount: minorUnits,
  currency: z.enum(SUPPORTED_CURRENCIES),
  status: z.enum(REFUND_STATUSES),
  reason: z.optional(z.enum(REFUND_REASONS)),
  metadata: z.optional(metadata),
  failureCode: z.optional(z.string()),
  requestId: z.optional(z.string()),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const paymentListSchema = listSchema(paymentViewSchema);
export const refundListSchema = listSchema(refundViewSchema);

const eventIdSchema = z.string().check(z.regex(/^evt_[0-9a-f]{32}$/));
const endpointIdSchema = z.string().check(z.regex(/^we_[0-9a-f]{24}$/));

/** An event as the API and a webhook body show it (`eventView`): the object is the payment or refund as GET answered it right after the change. */
export const eventViewSchema = z.strictObject({
  id: eventIdSchema,
  object: z.literal('event'),
  type: z.enum(EVENT_TYPES),
  api_version: z.string().check(z.regex(/^\d{4}-\d{2}-\d{2}$/)),
  created: z.int(),
  data: z.strictObject({ object: z.union([paymentViewSchema, refundViewSchema]) }),
});
export const eventListSchema = listSchema(eventViewSchema);

/** The answer of POST /v1/events/{id}/resend. */
export const eventResendSchema = z.strictObject({
  object: z.literal('event_resend'),
  event: eventIdSchema,
  webhook_endpoints: z.array(endpointIdSchema),
});

const endpointFields = {
  id: endpointIdSchema,
  object: z.literal('webhook_endpoint'),
  url: z.string(),
  enabled_events: z.array(z.enum([ALL_EVENTS, ...EVENT_TYPES])),
  status: z.enum(['enabled', 'disabled']),
  disabled_reason: z.optional(z.string()),
  created: z.int(),
};
/** A webhook endpoint as every answer but its creation and a roll shows it: never with a secret. */
export const webhookEndpointViewSchema = z.strictObject(endpointFields);
/** The answer of its creation and of a secret roll: the one time the secret is shown. */
export const webhookEndpointWithSecretSchema = z.strictObject({ ...endpointFields, secret: z.string().check(z.regex(/^whsec_/)) });
export const webhookEndpointListSchema = listSchema(webhookEndpointViewSchema);
export const deletedWebhookEndpointSchema = z.strictObject({ id: endpointIdSchema, object: z.literal('webhook_endpoint'), deleted: z.literal(true) });

// The views the handlers answer are the views the schemas (and the OpenAPI document) describe.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const paymentViewMatches: Same<PaymentView, z.output<typeof paymentViewSchema>> = true;
const refundViewMatches: Same<RefundView, z.output<typeof refundViewSchema>> = true;
const endpointViewMatches: Same<Omit<WebhookEndpointView, 'secret' | 'enabled_events'>, Omit<z.output<typeof webhookEndpointViewSchema>, 'enabled_events'>> = true;
const eventViewMatches: Same<Omit<EventView, 'data'>, Omit<z.output<typeof eventViewSchema>, 'data'>> = true;
void paymentViewMatches;
void refundViewMatches;
void endpointViewMatches;
void eventViewMatches;
