// npm run history: a payment's lines of the twin's log, found by payment id or by the request id that created it
// or one of its refunds, in log order; other payments' lines and metrics lines left out.
import { describe, expect, it } from 'vitest';
import { formatEntry, paymentHistory, shortSource } from '../../../tools/history/history.ts';

const json = (fields: Record<string, unknown>) => JSON.stringify({ level: 'INFO', timestamp: '2026-12-01T22:00:00.000Z', service: 'payflow', ...fields });
const LOG = [
  '[runner] ready in 100 ms {}',
  `[ApiCreatePaymentFunctionCCAB49B2] ${json({ message: 'Payment created', paymentId: 'pay_a', api_request_id: 'req-a', correlation_id: 'req-a', function_request_id: 'inv-1' })}`,
  '[runner] POST /v1/payments 201 req-a',
  `[ApiCreatePaymentFunctionCCAB49B2] ${json({ message: 'Payment created', paymentId: 'pay_b', api_request_id: 'req-b' })}`,
  '[runner] POST /v1/payments 201 req-b',
  `[OutboxRelay5EB66629] ${json({ message: 'Event relayed', paymentId: 'pay_a', api_request_id: 'req-a', type: 'payment.created' })}`,
  '[OutboxRelay5EB66629] {"_aws":{"Timestamp":1,"CloudWatchMetrics":[]},"service":"payflow","OutboxEventsPublished":1}',
  '[runner] GET /v1/payments/pay_a 200 req-get',
  `[ApiCreateRefundFunction46A9B978] ${json({ message: 'Refund reserved', paymentId: 'pay_a', refundId: 're_1', api_request_id: 'req-refund' })}`,
  '[runner] POST /v1/payments/pay_a/refunds 201 req-refund',
  `[SagaPostRefundLedgerFunction74FB5083] ${json({ message: 'Refund posted to the ledger', paymentId: 'pay_a', refundId: 're_1', api_request_id: 'req-refund' })}`,
  'a line that is not a function line',
];

describe('npm run history', () => {
  it('by payment id: every line about it (its refund’s too, and the POSTs of its requests), in log order; its GETs with reads', () => {
    const history = paymentHistory(LOG, 'pay_a');
    expect(history.entries.map((entry) => entry.line)).toEqual([2, 3, 6, 9, 10, 11]);
    expect(new Set(history.requestIds)).toEqual(new Set(['req-a', 'req-refund']));
    expect(paymentHistory(LOG, 'pay_a', { reads: true }).entries.map((entry) => entry.line)).toEqual([2, 3, 6, 8, 9, 10, 11]);
  });

  it('by the request id of the payment or of one of its refunds: the same history', () => {
    expect(paymentHistory(LOG, 'req-a').entries.map((entry) => entry.line)).toEqual([2, 3, 6, 9, 10, 11]);
    expect(paymentHistory(LOG, 'req-refund').entries.map((entry) => entry.line)).toEqual([2, 3, 6, 9, 10, 11]);
    expect(paymentHistory(LOG, 'req-refund').paymentIds).toEqual(['pay_a']);
  });

  it('another payment’s history has none of these lines; an unknown id has none', () => {
    expect(paymentHistory(LOG, 'req-b').entries.map((entry) => entry.line)).toEqual([4, 5]);
    expect(paymentHistory(LOG, 'nothing-like-it').entries).toEqual([]);
  });

  it('prints time, function (without CDK’s hash), message, what else the line says and the request id', () => {
    const [first] = paymentHistory(LOG, 'pay_a').entries;
    expect(shortSource('OutboxRelay5EB66629')).toBe('OutboxRelay');
    expect(formatEntry(first!)).toMatch(/^2026-12-01T22:00:00\.000Z +ApiCreatePaymentFunction +INFO +Payment created \[api_request_id=req-a\]$/);
  });
});
