import * as z from 'zod/mini';
import { MalformedEventError, OUTBOX_EVENT_TYPES, OUTBOX_EVENT_VERSION, type OutboxEvent } from '#domain/events';

/*
 * Apart from #domain/events: only the saga starter parses queued events, and the schema (zod, built at import)
 * would otherwise be in the bundle of every function that builds events from stream records — the relay and
 * the webhook functions — and cost each of their cold starts (DESIGN §9).
 */

/** The envelope a consumer relies on; `data` is passed through as it was published. */
const nonEmpty = () => z.string().check(z.minLength(1));
const outboxEventSchema = z
  .object({
    type: z.enum(OUTBOX_EVENT_TYPES),
    version: z.literal(OUTBOX_EVENT_VERSION),
    id: nonEmpty(),
    paymentId: nonEmpty(),
    refundId: z.optional(nonEmpty()),
    occurredAt: nonEmpty(),
    requestId: z.optional(nonEmpty()),
    data: z.record(z.string(), z.unknown()),
  })
  .check(
    z.refine((event) => !event.type.startsWith('refund.') || event.refundId !== undefined, {
      message: 'a refund event needs a refundId',
      path: ['refundId'],
    }),
  );

/** Parses a message body into an OutboxEvent; throws MalformedEventError when it is not one. */
export function parseOutboxEvent(body: string): OutboxEvent {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new MalformedEventError('the message body is not JSON');
  }
  const parsed = outboxEventSchema.safeParse(json);
  if (!parsed.success) throw new MalformedEventError(`the message is not an outbox event: ${z.prettifyError(parsed.error)}`);
  return parsed.data as OutboxEvent;
}
