import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MalformedEventError, OUTBOX_EVENT_TYPES, toOutboxEvent, type EntityChange } from '#domain/events';
import { parseOutboxEvent } from '#domain/outbox-event-parsing';
import { entityOf, withoutStorageAttributes } from '#adapters/dynamodb/payments-items';
import { PAYMENT_STATUSES } from '#domain/payment';
import { REFUND_STATUSES } from '#domain/refund';
import { sagaStartForEvent } from '#domain/saga-starts';

const paymentItem = (overrides: Record<string, unknown> = {}) => ({
  PK: 'PAYMENT#pay_0123456789abcdef01234567',
  SK: 'PAYMENT',
  entity: 'payment',
  id: 'pay_0123456789abcdef01234567',
  merchantId: 'merchant-a',
  amount: 1999,
  currency: 'EUR',
  status: 'pending',
  source: 'tok_success',
  amountCaptured: 0,
  amountRefunded: 0,
  amountRefundable: 0,
  requestHash: 'f'.repeat(64),
  openEntity: 'payment',
  createdAt: '2026-11-21T10:00:00.000Z',
  updatedAt: '2026-11-21T10:00:00.000Z',
  ...overrides,
});

const refundItem = (overrides: Record<string, unknown> = {}) => ({
  PK: 'PAYMENT#pay_0123456789abcdef01234567',
  SK: 'REFUND#re_89abcdef0123456789abcdef',
  entity: 'refund',
  id: 're_89abcdef0123456789abcdef',
  paymentId: 'pay_0123456789abcdef01234567',
  merchantId: 'merchant-a',
  amount: 500,
  currency: 'EUR',
  status: 'pending',
  requestHash: 'e'.repeat(64),
  openEntity: 'refund',
  createdAt: '2026-11-21T11:00:00.000Z',
  updatedAt: '2026-11-21T11:00:00.000Z',
  ...overrides,
});

/** A change of stored items, as the stream adapter hands it to the domain. */
const change = (eventId: string, eventName: string, before?: Record<string, unknown>, after?: Record<string, unknown>): EntityChange => ({
  eventId,
  eventName,
  entity: entityOf(after ?? before),
  ...(before ? { before: withoutStorageAttributes(before) } : {}),
  ...(after ? { after: withoutStorageAttributes(after) } : {}),
});
const insert = (item: Record<string, unknown>) => change('evt-1', 'INSERT', undefined, item);
const modify = (before: Record<string, unknown>, after: Record<string, unknown>) => change('evt-2', 'MODIFY', before, after);

describe('Outbox events: only INSERT/MODIFY of payment|refund where status changed are events', () => {
  it('an INSERT of a pending payment is payment.created, versioned, with the eventID as id and updatedAt as occurredAt', () => {
    expect(toOutboxEvent(insert(paymentItem()))).toEqual({
      type: 'payment.created',
      version: 1,
      id: 'evt-1',
      paymentId: 'pay_0123456789abcdef01234567',
      occurredAt: '2026-11-21T10:00:00.000Z',
      data: {
        id: 'pay_0123456789abcdef01234567',
        merchantId: 'merchant-a',
        amount: 1999,
        currency: 'EUR',
        status: 'pending',
        source: 'tok_success',
        amountCaptured: 0,
        amountRefunded: 0,
        amountRefundable: 0,
        createdAt: '2026-11-21T10:00:00.000Z',
        updatedAt: '2026-11-21T10:00:00.000Z',
      },
    });
  });

  it('the data carries the item without PK, SK, entity, openEntity and requestHash', () => {
    const event = toOutboxEvent(insert(paymentItem({ description: 'Order 42', metadata: { order: '42' } })))!;
    for (const key of ['PK', 'SK', 'entity', 'openEntity', 'requestHash']) expect(event.data).not.toHaveProperty(key);
    expect(event.data).toMatchObject({ description: 'Order 42', metadata: { order: '42' } });
  });

  it.each(PAYMENT_STATUSES.filter((status) => status !== 'pending'))('a payment whose status changes to %s is payment.%s', (status) => {
    const event = toOutboxEvent(modify(paymentItem(), paymentItem({ status, updatedAt: '2026-11-21T10:00:05.000Z' })))!;
    expect(event.type).toBe(`payment.${status}`);
    expect(event.occurredAt).toBe('2026-11-21T10:00:05.000Z');
    expect(event.refundId).toBeUndefined();
  });

  it('an INSERT of a pending refund is refund.created with paymentId and refundId', () => {
    const event = toOutboxEvent(insert(refundItem()))!;
    expect(event).toMatchObject({
      type: 'refund.created',
      paymentId: 'pay_0123456789abcdef01234567',
      refundId: 're_89abcdef0123456789abcdef',
      occurredAt: '2026-11-21T11:00:00.000Z',
    });
  });

  it.each(['succeeded', 'failed'])('a refund whose status changes to %s is refund.%s', (status) => {
    expect(toOutboxEvent(modify(refundItem(), refundItem({ status })))!.type).toBe(`refund.${status}`);
  });

  it('a MODIFY that leaves the status as it was is not an event', () => {
    expect(toOutboxEvent(modify(paymentItem({ status: 'succeeded' }), paymentItem({ status: 'succeeded', amountRefundable: 0 })))).toBeNull();
    expect(toOutboxEvent(modify(refundItem(), refundItem({ updatedAt: '2026-11-21T12:00:00.000Z' })))).toBeNull();
  });

  it('a REMOVE is not an event', () => {
    expect(toOutboxEvent(change('e', 'REMOVE', paymentItem()))).toBeNull();
  });

  it('postings and other items are not events', () => {
    expect(toOutboxEvent(insert({ PK: 'PAYMENT#pay_x', SK: 'POSTING#capture', entity: 'posting', lines: [] }))).toBeNull();
    expect(toOutboxEvent(insert({ PK: 'x', SK: 'y' }))).toBeNull();
  });

  it('every status of every entity maps to one of the contract event types', () => {
    for (const status of PAYMENT_STATUSES) expect(OUTBOX_EVENT_TYPES).toContain(toOutboxEvent(insert(paymentItem({ status })))!.type);
    for (const status of REFUND_STATUSES) expect(OUTBOX_EVENT_TYPES).toContain(toOutboxEvent(insert(refundItem({ status })))!.type);
    expect([...OUTBOX_EVENT_TYPES].sort()).toEqual(
      [
        'payment.created',
        'payment.processing',
        'payment.succeeded',
        'payment.failed',
        'payment.partially_refunded',
        'payment.refunded',
        'refund.created',
        'refund.succeeded',
        'refund.failed',
      ].sort(),
    );
  });

  it('a MODIFY is an event exactly when the status differs (property)', () => {
    fc.assert(
      fc.property(fc.constantFrom(...PAYMENT_STATUSES), fc.constantFrom(...PAYMENT_STATUSES), (before, after) => {
        const event = toOutboxEvent(modify(paymentItem({ status: before }), paymentItem({ status: after })));
        expect(event === null).toBe(before === after);
      }),
    );
  });
});

describe('Outbox events: a payment or refund that cannot be an event is malformed (poison)', () => {
  it.each([
    ['an unknown status', insert(paymentItem({ status: 'teleported' }))],
    ['no status', insert(paymentItem({ status: undefined }))],
    ['no id', insert(paymentItem({ id: undefined }))],
    ['no updatedAt', insert(paymentItem({ updatedAt: undefined }))],
    ['an updatedAt that is not a date', insert(paymentItem({ updatedAt: 'yesterday' }))],
    ['a refund without paymentId', insert(refundItem({ paymentId: '' }))],
    ['a refund with a payment status', insert(refundItem({ status: 'processing' }))],
    ['no event id', { ...insert(paymentItem()), eventId: '' }],
  ])('%s', (_case, change) => {
    expect(() => toOutboxEvent(change)).toThrow(MalformedEventError);
  });
});

describe('Outbox events: the message a consumer parses', () => {
  it('round-trips through JSON', () => {
    const event = toOutboxEvent(insert(refundItem()))!;
    expect(parseOutboxEvent(JSON.stringify(event))).toEqual(event);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '"payment.created"'],
    ['an unknown type', JSON.stringify({ ...toOutboxEvent(insert(paymentItem())), type: 'payment.teleported' })],
    ['another version', JSON.stringify({ ...toOutboxEvent(insert(paymentItem())), version: 2 })],
    ['no paymentId', JSON.stringify({ ...toOutboxEvent(insert(paymentItem())), paymentId: undefined })],
    ['a refund event without refundId', JSON.stringify({ ...toOutboxEvent(insert(refundItem())), refundId: undefined })],
  ])('rejects %s', (_case, body) => {
    expect(() => parseOutboxEvent(body)).toThrow(MalformedEventError);
  });
});

describe('Saga starts: payment.created and refund.created start a saga under the deterministic name', () => {
  it('payment.created starts payment-<paymentId> with {paymentId}', () => {
    expect(sagaStartForEvent(toOutboxEvent(insert(paymentItem()))!)).toEqual({
      saga: 'payment',
      name: 'payment-pay_0123456789abcdef01234567',
      input: { paymentId: 'pay_0123456789abcdef01234567' },
    });
  });

  it('refund.created starts refund-<refundId> with {paymentId, refundId}', () => {
    expect(sagaStartForEvent(toOutboxEvent(insert(refundItem()))!)).toEqual({
      saga: 'refund',
      name: 'refund-re_89abcdef0123456789abcdef',
      input: { paymentId: 'pay_0123456789abcdef01234567', refundId: 're_89abcdef0123456789abcdef' },
    });
  });

  it('no other event starts anything', () => {
    expect(sagaStartForEvent(toOutboxEvent(insert(paymentItem({ status: 'succeeded' })))!)).toBeNull();
    expect(sagaStartForEvent(toOutboxEvent(insert(refundItem({ status: 'failed' })))!)).toBeNull();
  });
});

describe('One request id end to end: the API request id of the item rides in the envelope and into the saga input', () => {
  const requestId = 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef';

  it('a payment event carries its payment’s request id in the envelope (not in data); the saga input gets it', () => {
    const event = toOutboxEvent(insert(paymentItem({ requestId })))!;
    expect(event).toMatchObject({ type: 'payment.created', requestId });
    expect(event.data).not.toHaveProperty('requestId');
    expect(parseOutboxEvent(JSON.stringify(event)).requestId).toBe(requestId);
    expect(sagaStartForEvent(event)?.input).toEqual({ paymentId: event.paymentId, requestId });
  });

  it('a refund event carries its refund’s request id, and the refund saga input gets it', () => {
    const event = toOutboxEvent(insert(refundItem({ requestId })))!;
    expect(event).toMatchObject({ type: 'refund.created', requestId, refundId: 're_89abcdef0123456789abcdef' });
    expect(sagaStartForEvent(event)?.input).toEqual({ paymentId: event.paymentId, refundId: event.refundId, requestId });
  });

  it('an item stored before request ids has an event without one, as before, and a saga input without one', () => {
    const event = toOutboxEvent(insert(paymentItem()))!;
    expect(event).not.toHaveProperty('requestId');
    expect(sagaStartForEvent(event)?.input).toEqual({ paymentId: event.paymentId });
  });

  it('an event with an empty request id is not an event', () => {
    const event = toOutboxEvent(insert(paymentItem()))!;
    expect(() => parseOutboxEvent(JSON.stringify({ ...event, requestId: '' }))).toThrow(MalformedEventError);
  });
});
