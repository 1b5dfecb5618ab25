import { PAYMENT_STATUSES } from '#domain/payment';
import { REFUND_STATUSES } from '#domain/refund';

/**
 * Outbox events (CONTRACT "Outbox events"): a write to the Payments table that changes the status of a
 * payment or a refund is, by itself, the event. The relay turns its stream record into one of these.
 */
export const OUTBOX_EVENT_VERSION = 1;

export const PAYMENT_EVENT_TYPES = PAYMENT_STATUSES.map((status) => `payment.${status === 'pending' ? 'created' : status}` as const);
export const REFUND_EVENT_TYPES = REFUND_STATUSES.map((status) => `refund.${status === 'pending' ? 'created' : status}` as const);
export const OUTBOX_EVENT_TYPES = [...PAYMENT_EVENT_TYPES, ...REFUND_EVENT_TYPES] as const;
export type OutboxEventType = (typeof OUTBOX_EVENT_TYPES)[number];

export interface OutboxEvent {
  type: OutboxEventType;
  version: typeof OUTBOX_EVENT_VERSION;
  /** The stream record's eventID: unique per change, so it is also the queue's deduplication id. */
  id: string;
  paymentId: string;
  refundId?: string;
  /** updatedAt of the new image: when the change happened, not when it was relayed. */
  occurredAt: string;
  /**
   * The id of the API request that created the payment (payment events) or the refund (refund events):
   * an opaque correlation id, absent for items stored before it was kept.
   */
  requestId?: string;
  data: Record<string, unknown>;
}

/** A change of a stored entity, as the outbox needs it: the entity as it was before and after (storage details removed). */
export interface EntityChange {
  /** Unique per change (the stream record's eventID). */
  eventId: string;
  /** INSERT, MODIFY or REMOVE. */
  eventName: string;
  entity: string | undefined;
  before?: Record<string, unknown>;
  after?: Record<string, unknown>;
}

/** A change that should be an event but cannot be built into one, or a message that is not one. */
export class MalformedEventError extends Error {
  override readonly name = 'MalformedEventError';
}

/**
 * Not in an event's data: the request hash (kept to tell a retry from a reused key, not part of what an
 * event tells) and the request id (the envelope carries it).
 */
const NOT_IN_EVENTS = new Set(['requestHash', 'requestId']);

const STATUSES_BY_ENTITY: Readonly<Record<string, readonly string[]>> = {
  payment: PAYMENT_STATUSES,
  refund: REFUND_STATUSES,
};

/** Whether a record can be an event at all: an INSERT or MODIFY of a payment or a refund item. */
export function isOutboxCandidate(eventName: string, entity: unknown): boolean {
  return (eventName === 'INSERT' || eventName === 'MODIFY') && (entity === 'payment' || entity === 'refund');
}

/**
 * The event a change stands for, or null when it is not one: not an INSERT/MODIFY of a payment or a
 * refund, or a MODIFY that left the status as it was. Throws MalformedEventError for a payment or
 * refund item the event cannot be built from.
 */
export function toOutboxEvent(change: EntityChange): OutboxEvent | null {
  const item = change.after;
  if (!item || !isOutboxCandidate(change.eventName, change.entity)) return null;
  const entity = change.entity as 'payment' | 'refund';
  if (change.eventName === 'MODIFY' && change.before?.status === item.status) return null;

  const status = item.status;
  if (typeof status !== 'string' || !STATUSES_BY_ENTITY[entity]!.includes(status)) {
    throw new MalformedEventError(`${entity} ${String(item.id)} has an unknown status: ${String(status)}`);
  }
  const id = requiredString(item, 'id', entity);
  const occurredAt = requiredString(item, 'updatedAt', entity);
  if (Number.isNaN(Date.parse(occurredAt))) throw new MalformedEventError(`${entity} ${id} has an invalid updatedAt: ${occurredAt}`);
  if (!change.eventId) throw new MalformedEventError(`the change of ${entity} ${id} has no event id`);

  const type = `${entity}.${status === 'pending' ? 'created' : status}` as OutboxEventType;
  const data = Object.fromEntries(Object.entries(item).filter(([key]) => !NOT_IN_EVENTS.has(key)));
  const requestId = typeof item.requestId === 'string' && item.requestId !== '' ? { requestId: item.requestId } : {};
  return entity === 'payment'
    ? { type, version: OUTBOX_EVENT_VERSION, id: change.eventId, paymentId: id, occurredAt, ...requestId, data }
    : {
        type,
        version: OUTBOX_EVENT_VERSION,
        id: change.eventId,
        paymentId: requiredString(item, 'paymentId', entity),
        refundId: id,
        occurredAt,
        ...requestId,
        data,
      };
}

function requiredString(item: Record<string, unknown>, attribute: string, entity: string): string {
  const value = item[attribute];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedEventError(`${entity} ${String(item.id)} has no ${attribute}`);
  }
  return value;
}
