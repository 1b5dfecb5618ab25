/**
 * Events and webhooks over HTTP (issue 11), against the stack under test with a receiver on this machine
 * (http://127.0.0.1: the twin's dev mode; a deployed stack would need a public HTTPS receiver).
 * The acceptance twin compresses the 3-day retry window to 12 s (test/acceptance/global-setup.ts).
 */
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { webhooks, type Event, type Payment } from '../../client/payments-client.ts';
import { startWebhookReceiver, type ReceivedDelivery, type WebhookReceiver } from '../../tools/webhooks/receiver.ts';
import { call, eventually, expectError, merchant, output, paymentReaching, sqsClient, stack } from './target.ts';

const A = () => merchant('MerchantA');
const B = () => merchant('MerchantB');
const SIGNATURE = 'payflow-signature';

let receiver: WebhookReceiver;
/** Per path: how many more times to answer 500 for each event before 200; `never` always 503. */
const failuresLeft = new Map<string, number>();
beforeAll(async () => {
  receiver = await startWebhookReceiver({
    respond: ({ path, eventId }) => {
      if (path.startsWith('/never')) return 503;
      const key = `${path}#${eventId}`;
      const left = failuresLeft.get(key) ?? (path.startsWith('/flaky') ? 3 : 0);
      failuresLeft.set(key, left - 1);
      return left > 0 ? 500 : 200;
    },
  });
});
/** Endpoints are removed after each test: the suite's other files create payments of the same merchants. */
const created: Array<{ id: string; who: ReturnType<typeof A> }> = [];
afterEach(async () => {
  for (const { id, who } of created.splice(0)) await who.client.deleteWebhookEndpoint(id).catch(() => undefined);
});
afterAll(() => receiver?.close());

const eventOf = (delivery: ReceivedDelivery) => JSON.parse(delivery.rawBody.toString('utf8')) as Event;
const objectId = (delivery: ReceivedDelivery) => (eventOf(delivery).data.object as { id: string }).id;
const deliveredFor = (path: string, id: string, type: string) => (delivery: ReceivedDelivery) =>
  delivery.path === path && delivery.status === 200 && objectId(delivery) === id && eventOf(delivery).type === type;
const timeout = () => stack().deadlines.terminalMs;

async function endpoint(path: string, enabledEvents: string[], who = A()) {
  const endpoint = await who.client.createWebhookEndpoint({ url: `${receiver.url}${path}`, enabled_events: enabledEvents });
  created.push({ id: endpoint.id, who });
  return endpoint;
}

describe('delivery of each event type, signed', () => {
  it('payment.created/succeeded/failed/partially_refunded/refunded and refund.created/succeeded/failed reach the receiver with a valid signature', async () => {
    const { secret } = await endpoint('/all', ['*']);
    const a = A();
    const paid = await a.client.createPayment({ amount: 5000, currency: 'EUR', source: 'tok_success' });
    const declined = await a.client.createPayment({ amount: 700, currency: 'EUR', source: 'tok_decline' });
    const refundFails = await a.client.createPayment({ amount: 900, currency: 'EUR', source: 'tok_refund_fail' });
    await paymentReaching(a, paid.id, ['succeeded']);
    await paymentReaching(a, refundFails.id, ['succeeded']);
    const partial = await a.client.createRefund(paid.id, { amount: 1000 });
    await paymentReaching(a, paid.id, ['partially_refunded']);
    const rest = await a.client.createRefund(paid.id);
    const failing = await a.client.createRefund(refundFails.id, { amount: 100 });

    const expected: Array<[string, string]> = [
      [paid.id, 'payment.created'], [paid.id, 'payment.succeeded'],
      [paid.id, 'payment.partially_refunded'], [paid.id, 'payment.refunded'], [declined.id, 'payment.failed'],
      [partial.id, 'refund.created'], [partial.id, 'refund.succeeded'], [rest.id, 'refund.succeeded'], [failing.id, 'refund.failed'],
    ];
    const deliveries = await Promise.all(expected.map(([id, type]) => receiver.waitFor(deliveredFor('/all', id, type), timeout())));
    for (const delivery of deliveries) {
      const verified = webhooks.constructEvent(delivery.rawBody, delivery.headers[SIGNATURE] as string, secret);
      expect(verified).toMatchObject({ object: 'event', api_version: expect.any(String), created: expect.any(Number) });
      // The same event through the API.
      expect(await a.client.getEvent(verified.id)).toEqual(verified);
    }
    // The saga no longer writes processing, so no payment.processing is sent (README "Payment statuses").
    expect(receiver.deliveries.filter((delivery) => delivery.path === '/all' && eventOf(delivery).type === 'payment.processing')).toEqual([]);
    expect(eventOf(deliveries[1]!).data.object).toMatchObject({ id: paid.id, object: 'payment', status: 'succeeded' });
    expect(eventOf(deliveries[8]!).data.object).toMatchObject({ id: failing.id, object: 'refund', status: 'failed' });
  });
});

describe('retries', () => {
  it('a receiver that fails 3 times then recovers gets the event once it answers 2xx', async () => {
    await endpoint('/flaky', ['payment.succeeded']);
    const payment = await A().client.createPayment({ amount: 1200, currency: 'USD', source: 'tok_success' });
    const delivered = await receiver.waitFor(deliveredFor('/flaky', payment.id, 'payment.succeeded'), timeout());
    const attempts = receiver.deliveries.filter((d) => d.path === '/flaky' && d.eventId === delivered.eventId);
    expect(attempts.map((d) => d.status)).toEqual([500, 500, 500, 200]);
  });

  it('a receiver that never recovers: after the retry window the delivery is in the webhook DLQ with its last status, and the endpoint is disabled', async () => {
    const never = await endpoint('/never', ['payment.created']);
    await A().client.createPayment({ amount: 1300, currency: 'USD', source: 'tok_success' });
    const sqs = sqsClient();
    const dead = await eventually('the delivery in the webhook DLQ', stack().deadlines.dlqMs, async () => {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: output('WebhookDlqUrl'), MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 1 }));
      return Messages.map((m) => JSON.parse(m.Body!)).find((body: { endpointId?: string }) => body.endpointId === never.id);
    }, 500);
    expect(dead).toMatchObject({ endpointId: never.id, lastStatus: 503, attempt: expect.any(Number) });
    // Every attempt reached the receiver (how many fit in the window depends on the machine's load).
    expect(receiver.deliveries.filter((d) => d.path === '/never' && d.eventId === dead.eventId)).toHaveLength(dead.attempt);
    expect(await A().client.getWebhookEndpoint(never.id)).toMatchObject({ status: 'disabled' });
    // The merchant re-enables it once the receiver is fixed; the same request again answers the same endpoint.
    const reEnabled = await A().client.updateWebhookEndpoint(never.id, { disabled: false });
    expect(reEnabled).toMatchObject({ id: never.id, status: 'enabled' });
    expect(reEnabled).not.toHaveProperty('disabled_reason');
    expect(await A().client.updateWebhookEndpoint(never.id, { disabled: false })).toEqual(reEnabled);
  });
});

describe('resend and secret roll', () => {
  it('resend delivers the event again; after a roll both secrets sign during the overlap', async () => {
    const created = await endpoint('/roll', ['payment.succeeded']);
    const a = A();
    const payment = await a.client.createPayment({ amount: 1400, currency: 'EUR', source: 'tok_success' });
    const first = await receiver.waitFor(deliveredFor('/roll', payment.id, 'payment.succeeded'), timeout());

    const rolled = await a.client.rollWebhookSecret(created.id, { expires_in_seconds: 3600 });
    expect(rolled.secret).toMatch(/^whsec_/);
    expect(rolled.secret).not.toBe(created.secret);
    expect(await a.client.resendEvent(first.eventId!, { webhook_endpoint: created.id })).toMatchObject({ event: first.eventId, webhook_endpoints: [created.id] });
    const again = await receiver.waitFor((d) => d.path === '/roll' && d.eventId === first.eventId && d !== first, timeout());
    const header = again.headers[SIGNATURE] as string;
    expect(header.match(/v1=/g)).toHaveLength(2);
    expect(webhooks.constructEvent(again.rawBody, header, rolled.secret).id).toBe(first.eventId);
    expect(webhooks.constructEvent(again.rawBody, header, created.secret).id).toBe(first.eventId);
    expect(() => webhooks.constructEvent(first.rawBody, first.headers[SIGNATURE] as string, rolled.secret)).toThrow(/No signature matches/);
  });
});

describe('constructEvent refuses what it should', () => {
  it('a tampered body, a stale timestamp, another secret', async () => {
    const { secret } = await endpoint('/verify', ['payment.created']);
    const payment = await A().client.createPayment({ amount: 1500, currency: 'EUR', source: 'tok_success' });
    const delivery = await receiver.waitFor(deliveredFor('/verify', payment.id, 'payment.created'), timeout());
    const header = delivery.headers[SIGNATURE] as string;
    const t = Number(/t=(\d+)/.exec(header)![1]);
    expect(webhooks.constructEvent(delivery.rawBody, header, secret, 300, t + 299).id).toBe(delivery.eventId);
    const tampered = delivery.rawBody.toString('utf8').replace('"amount":1500', '"amount":1');
    expect(() => webhooks.constructEvent(tampered, header, secret)).toThrow(/No signature matches/);
    expect(() => webhooks.constructEvent(delivery.rawBody, header, secret, 300, t + 301)).toThrow(/tolerance/);
    expect(() => webhooks.constructEvent(delivery.rawBody, header, 'whsec_other')).toThrow(/No signature matches/);
  });
});

describe('webhook endpoint URLs', () => {
  it.each([
    'http://10.0.0.5/hook', 'https://192.168.1.10/hook', 'https://169.254.169.254/latest/meta-data', 'http://localhost:8080/hook',
    'https://[::1]/hook', 'http://127.0.0.2/hook', 'ftp://example.com/hook', 'not a url',
  ])('%s is refused (even in the twin dev mode, which allows http://127.0.0.1 only)', async (url) => {
    const answer = await call('POST', 'webhook_endpoints', { apiKey: A().apiKey, body: { url, enabled_events: ['*'] } });
    expectError(answer, 400, 'invalid_request_error', 'parameter_invalid', 'url');
  });

  it('unknown event types and fields are refused', async () => {
    expectError(await call('POST', 'webhook_endpoints', { apiKey: A().apiKey, body: { url: 'https://example.com/h', enabled_events: ['payment.exploded'] } }), 400, 'invalid_request_error', 'parameter_invalid', 'enabled_events.0');
    expectError(await call('POST', 'webhook_endpoints', { apiKey: A().apiKey, body: { url: 'https://example.com/h', enabled_events: [], x: 1 } }), 400, 'invalid_request_error', 'parameter_unknown', 'x');
  });
});

describe('merchant isolation', () => {
  it("another merchant can neither see, list, resend nor manage a merchant's events and endpoints", async () => {
    const a = A();
    const b = B();
    const own = await endpoint('/isolation', ['payment.created']);
    const payment = await a.client.createPayment({ amount: 1600, currency: 'EUR', source: 'tok_success' });
    const delivery = await receiver.waitFor(deliveredFor('/isolation', payment.id, 'payment.created'), timeout());
    const eventId = delivery.eventId!;
    expectError(await call('GET', `events/${eventId}`, { apiKey: b.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await call('POST', `events/${eventId}/resend`, { apiKey: b.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await call('GET', `webhook_endpoints/${own.id}`, { apiKey: b.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await call('DELETE', `webhook_endpoints/${own.id}`, { apiKey: b.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    expectError(await call('POST', `webhook_endpoints/${own.id}/roll_secret`, { apiKey: b.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
    const listedByB = await call('GET', 'events?limit=100', { apiKey: b.apiKey });
    expect(listedByB.status).toBe(200);
    expect((listedByB.json as { data: Event[] }).data.map((e) => e.id)).not.toContain(eventId);
    expect((await b.client.listWebhookEndpoints({ limit: 100 })).data.map((e) => e.id)).not.toContain(own.id);
    expectError(await call('GET', `webhook_endpoints?starting_after=${own.id}`, { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'starting_after');
    expectError(await call('POST', `webhook_endpoints/${own.id}`, { apiKey: b.apiKey, body: { disabled: true } }), 404, 'invalid_request_error', 'resource_not_found');
    // Nothing of A's was resent: exactly the one delivery.
    expect(receiver.deliveries.filter((d) => d.path === '/isolation' && d.eventId === eventId)).toHaveLength(1);
    // The owner can delete it; then it is gone.
    expect(await a.client.deleteWebhookEndpoint(own.id)).toEqual({ id: own.id, object: 'webhook_endpoint', deleted: true });
    expectError(await call('GET', `webhook_endpoints/${own.id}`, { apiKey: a.apiKey }), 404, 'invalid_request_error', 'resource_not_found');
  });
});

describe('GET /v1/events', () => {
  it('pages newest first and never skips or repeats an event while new ones arrive', async () => {
    const b = B();
    const seed: Payment[] = [];
    for (let i = 0; i < 3; i++) seed.push(await b.client.createPayment({ amount: 100 + i, currency: 'USD', source: 'tok_success' }));
    await Promise.all(seed.map((p) => paymentReaching(b, p.id, ['succeeded'])));
    const snapshot = await eventually('the seed events listed', timeout(), async () => {
      const page = await b.client.listEvents({ limit: 30 });
      const objects = new Set(page.data.map((e) => (e.data.object as { id: string }).id));
      return seed.every((p) => objects.has(p.id)) ? page.data.map((e) => e.id) : undefined;
    });
    const oldest = snapshot.at(-1)!;
    const paged: string[] = [];
    let startingAfter: string | undefined;
    for (let pages = 0; pages < 40; pages++) {
      const page = await b.client.listEvents({ limit: 4, ...(startingAfter ? { starting_after: startingAfter } : {}) });
      paged.push(...page.data.map((e) => e.id));
      // New events arrive between pages.
      await b.client.createPayment({ amount: 200 + pages, currency: 'USD', source: 'tok_success' });
      if (!page.has_more || paged.includes(oldest)) break;
      startingAfter = page.data.at(-1)!.id;
    }
    expect(new Set(paged).size).toBe(paged.length);
    expect([...paged].sort().reverse()).toEqual(paged);
    for (const id of snapshot) expect(paged).toContain(id);

    const typed = await b.client.listEvents({ type: 'payment.succeeded', limit: 5 });
    expect(typed.data.length).toBeGreaterThan(0);
    expect(typed.data.every((e) => e.type === 'payment.succeeded')).toBe(true);
    expectError(await call('GET', 'events?limit=0', { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'limit');
    expectError(await call('GET', 'events?limit=101', { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'limit');
    expectError(await call('GET', 'events?starting_after=pay_1', { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'starting_after');
    expectError(await call('GET', 'events?type=payment.exploded', { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_invalid', 'type');
    expectError(await call('GET', 'events?colour=red', { apiKey: b.apiKey }), 400, 'invalid_request_error', 'parameter_unknown', 'colour');
  });
});
