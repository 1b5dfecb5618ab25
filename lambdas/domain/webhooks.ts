import { createHash, createHmac, randomBytes } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { OUTBOX_EVENT_TYPES, type OutboxEvent, type OutboxEventType } from '#domain/events';

/**
 * Merchant-visible events and their webhook deliveries (issue 11): what an event is, which endpoints want
 * it, how a delivery is signed, when a failed one is tried again, and which URLs may be called at all.
 * Pure: no storage keys, no HTTP, no AWS.
 */

/** The API version an event's object is rendered in. */
export const API_VERSION = '2026-12-01';
/** Events are kept 30 days. */
export const EVENT_RETENTION_SECONDS = 30 * 24 * 3600;
export const EVENT_TYPES = OUTBOX_EVENT_TYPES;
export type EventType = OutboxEventType;
export const ALL_EVENTS = '*';

/** A merchant-visible event: what changed, when, and the object as it was after the change. */
export interface MerchantEvent {
  id: string;
  merchantId: string;
  type: EventType;
  /** Unix seconds of the change. */
  created: number;
  /** The payment or refund as the API shows it, as it was right after the change. */
  object: Record<string, unknown>;
}

/**
 * An event's id: the change's time first (12 hex digits of milliseconds), so ids sort by time and a list
 * newest first is a reverse sort by id; then a hash of the outbox change's unique id, so the same change
 * recorded twice (a retried stream batch) is the same event.
 */
export function eventIdFor(change: Pick<OutboxEvent, 'id' | 'occurredAt'>): string {
  const millis = Date.parse(change.occurredAt);
  return `evt_${millis.toString(16).padStart(12, '0')}${createHash('sha256').update(change.id).digest('hex').slice(0, 20)}`;
}
export const EVENT_ID_PATTERN = /^evt_[0-9a-f]{32}$/;
export const isEventId = (value: string): boolean => EVENT_ID_PATTERN.test(value);

/** The merchant-visible event of an outbox change; `view` renders the object as the API shows it. */
export function toMerchantEvent(change: OutboxEvent, view: (change: OutboxEvent) => Record<string, unknown>): MerchantEvent {
  const merchantId = change.data.merchantId;
  if (typeof merchantId !== 'string' || merchantId === '') throw new Error(`the change ${change.id} names no merchant`);
  return { id: eventIdFor(change), merchantId, type: change.type, created: Math.floor(Date.parse(change.occurredAt) / 1000), object: view(change) };
}

/** The event as the API and the webhook body show it. */
export function eventView(event: MerchantEvent) {
  return { id: event.id, object: 'event' as const, type: event.type, api_version: API_VERSION, created: event.created, data: { object: event.object } };
}
export type EventView = ReturnType<typeof eventView>;

export interface WebhookEndpoint {
  id: string;
  merchantId: string;
  url: string;
  enabledEvents: string[];
  status: 'enabled' | 'disabled';
  /** Why it was disabled (e.g. deliveries failing for the whole retry window). */
  disabledReason?: string;
  created: number;
}

/**
 * An endpoint's signing secrets in plain text: known when the endpoint is created or its secret rolled, and read
 * back (decrypted) only to sign a delivery. Stored encrypted, never in an endpoint read for anything else.
 */
export interface SigningSecrets {
  secret: string;
  /** While a secret roll overlaps: the previous secret still signs, until this unix time. */
  previousSecret?: string;
  previousSecretExpiresAt?: number;
}

export const WEBHOOK_ENDPOINT_ID_PATTERN = /^we_[0-9a-f]{24}$/;
export const newWebhookEndpointId = (): string => `we_${randomBytes(12).toString('hex')}`;
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64url')}`;

export const wantsEvent = (endpoint: Pick<WebhookEndpoint, 'enabledEvents' | 'status'>, type: string): boolean =>
  endpoint.status === 'enabled' && (endpoint.enabledEvents.includes(ALL_EVENTS) || endpoint.enabledEvents.includes(type));

/** The secrets that sign now: the current one, and the previous one while its overlap lasts. */
export function signingSecrets(endpoint: SigningSecrets, nowSeconds: number): string[] {
  const previous = endpoint.previousSecret && (endpoint.previousSecretExpiresAt ?? 0) > nowSeconds ? [endpoint.previousSecret] : [];
  return [endpoint.secret, ...previous];
}

export const SIGNATURE_HEADER = 'Payflow-Signature';

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">` with one v1 per signing secret. */
export function signatureHeader(body: string, secrets: readonly string[], timestampSeconds: number): string {
  const signatures = secrets.map((secret) => `v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${body}`).digest('hex')}`);
  return [`t=${timestampSeconds}`, ...signatures].join(',');
}

/** Retries of a failed delivery: exponential backoff with full jitter, for a bounded window (3 days by default). */
export interface RetrySchedule {
  baseSeconds: number;
  capSeconds: number;
  windowSeconds: number;
}
export const DEFAULT_RETRY_SCHEDULE: RetrySchedule = { baseSeconds: 60, capSeconds: 6 * 3600, windowSeconds: 3 * 24 * 3600 };

/**
 * When to try again after failed attempt number `attempt` (1-based), or null when the next try would fall
 * after the window that started with the first attempt: the delivery is then given up.
 */
export function nextRetryDelaySeconds(schedule: RetrySchedule, attempt: number, elapsedSeconds: number, random: () => number = Math.random): number | null {
  const ceiling = Math.min(schedule.capSeconds, schedule.baseSeconds * 2 ** Math.min(attempt - 1, 40));
  const delay = random() * ceiling;
  return elapsedSeconds + delay > schedule.windowSeconds ? null : delay;
}

/** Addresses a webhook may never reach: private, loopback, link-local, CGNAT, multicast, reserved (RFC 6890). */
const FORBIDDEN_V4 = new BlockList();
const FORBIDDEN_V6 = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) FORBIDDEN_V4.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['100::', 64], ['2001:db8::', 32], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8],
] as const) FORBIDDEN_V6.addSubnet(network, prefix, 'ipv6');

/** The loopback address the twin's dev mode lets a local receiver use. */
export const DEV_LOOPBACK = '127.0.0.1';

/** Whether a webhook may connect to this IP address. Dev mode allows 127.0.0.1 only, nothing else private. */
export function isAllowedAddress(address: string, devMode: boolean): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (devMode && address === DEV_LOOPBACK) return true;
  if (family === 4) return !FORBIDDEN_V4.check(address, 'ipv4');
  // An IPv4-mapped IPv6 address is its IPv4 address; one written in hex is refused rather than decoded.
  if (/^::ffff:/i.test(address)) return /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(address) && !FORBIDDEN_V4.check(address.slice(7), 'ipv4');
  return !FORBIDDEN_V6.check(address, 'ipv6');
}

/** Why a URL cannot be a webhook endpoint, or null when it can (its host's addresses are checked again at every delivery). */
export function webhookUrlProblem(text: string, devMode: boolean): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'url must be an absolute URL';
  }
  if (url.username || url.password) return 'url must not contain credentials';
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const devLoopback = devMode && url.protocol === 'http:' && host === DEV_LOOPBACK;
  if (url.protocol !== 'https:' && !devLoopback) return devMode ? 'url must be https (or http://127.0.0.1 in dev mode)' : 'url must be https';
  if (isIP(host) !== 0 && !isAllowedAddress(host, devMode)) return 'url must not point to a private, loopback or link-local address';
  if (isIP(host) === 0 && (host === 'localhost' || host.endsWith('.localhost') || host.endsWith('.internal') || !host.includes('.'))) {
    return 'url must name a public host';
  }
  return null;
}
