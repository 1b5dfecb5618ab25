import { describe, expect, it } from 'vitest';
import {
  checkLedgerCapture,
  checkProcessorCapture,
  countOutcome,
  dayBefore,
  dayRange,
  emptyCounts,
  isDay,
  type LedgerCapture,
  type PaymentView,
  type ProcessorCapture,
} from '../../../lambdas/domain/daily-reconciliation.ts';
import { capturedAmount, capturePosting } from '../../../lambdas/domain/ledger.ts';

const SETTLED_BEFORE = '2026-11-30T23:45:00.000Z';
const capture = (fields: Partial<ProcessorCapture> = {}): ProcessorCapture => ({
  paymentId: 'pay_1',
  captureId: 'cap_pay_1',
  amount: 2500,
  currency: 'EUR',
  capturedAt: '2026-11-30T10:00:00.000Z',
  refundedAmount: 0,
  reversed: false,
  ...fields,
});
const posting = (fields: Partial<LedgerCapture> = {}): LedgerCapture => ({ paymentId: 'pay_1', amount: 2500, currency: 'EUR', postedAt: '2026-11-30T10:00:01.000Z', ...fields });
const payment = (status: PaymentView['status'], fields: Partial<PaymentView> = {}): PaymentView => ({ id: 'pay_1', merchantId: 'm', status, amount: 2500, currency: 'EUR', ...fields });

describe('checkProcessorCapture: the processor captured', () => {
  it('matches a posting of the same amount and currency', () => {
    expect(checkProcessorCapture(capture(), { payment: payment('succeeded'), posting: posting() }, SETTLED_BEFORE)).toEqual({ outcome: 'matched' });
    expect(checkProcessorCapture(capture(), { payment: payment('refunded'), posting: posting() }, SETTLED_BEFORE)).toEqual({ outcome: 'matched' });
  });

  it.each([
    ['amount', posting({ amount: 2400 })],
    ['currency', posting({ currency: 'USD' })],
  ])('a posting of another %s is an amount_mismatch naming both figures', (_what, other) => {
    const check = checkProcessorCapture(capture(), { payment: payment('succeeded'), posting: other }, SETTLED_BEFORE);
    expect(check).toMatchObject({ outcome: 'discrepancy', kind: 'amount_mismatch' });
    expect(check.outcome === 'discrepancy' && check.detail).toContain('2500 EUR');
  });

  it.each(['pending', 'processing'] as const)('no posting and a %s payment of the same amount: recover it', (status) => {
    expect(checkProcessorCapture(capture(), { payment: payment(status) }, SETTLED_BEFORE)).toEqual({ outcome: 'recover', payment: payment(status) });
  });

  it('no posting, a processing payment of another amount: amount_mismatch, not a recovery', () => {
    expect(checkProcessorCapture(capture(), { payment: payment('processing', { amount: 3000 }) }, SETTLED_BEFORE)).toMatchObject({ outcome: 'discrepancy', kind: 'amount_mismatch' });
  });

  it('a capture younger than the settling time is in flight, not recovered (its saga may be posting it)', () => {
    const recent = capture({ capturedAt: SETTLED_BEFORE });
    expect(checkProcessorCapture(recent, { payment: payment('processing') }, SETTLED_BEFORE)).toEqual({ outcome: 'in_flight' });
    expect(checkProcessorCapture(recent, { payment: payment('succeeded'), posting: posting() }, SETTLED_BEFORE)).toEqual({ outcome: 'matched' });
  });

  it.each([
    ['failed', { payment: payment('failed') }],
    ['unknown to the store', {}],
    ['succeeded without a posting', { payment: payment('succeeded') }],
  ])('no posting and a payment %s: unposted_capture', (_what, ledger) => {
    expect(checkProcessorCapture(capture(), ledger, SETTLED_BEFORE)).toMatchObject({ outcome: 'discrepancy', kind: 'unposted_capture' });
  });

  it("a failed payment whose capture the saga's compensation refunded in full matches; refunded in part it does not", () => {
    expect(checkProcessorCapture(capture({ refundedAmount: 2500 }), { payment: payment('failed') }, SETTLED_BEFORE)).toEqual({ outcome: 'matched' });
    const partly = checkProcessorCapture(capture({ refundedAmount: 1000 }), { payment: payment('failed') }, SETTLED_BEFORE);
    expect(partly).toMatchObject({ outcome: 'discrepancy', kind: 'unposted_capture' });
    expect(partly.outcome === 'discrepancy' && partly.detail).toContain('1000 EUR of it refunded');
  });

  it('a capture the processor reversed: matched without a posting, missing_at_processor with one', () => {
    const reversed = capture({ reversed: true });
    expect(checkProcessorCapture(reversed, { payment: payment('failed') }, SETTLED_BEFORE)).toEqual({ outcome: 'matched' });
    expect(checkProcessorCapture(reversed, { payment: payment('succeeded'), posting: posting() }, SETTLED_BEFORE)).toMatchObject({ outcome: 'discrepancy', kind: 'missing_at_processor' });
  });
});

describe('checkLedgerCapture: the ledger posted a capture', () => {
  it('leaves a capture the processor has to the processor side (compared on its own day)', () => {
    expect(checkLedgerCapture(posting(), capture())).toBeUndefined();
    expect(checkLedgerCapture(posting({ amount: 1 }), capture())).toBeUndefined();
  });

  it('the processor has none, or reversed it: missing_at_processor', () => {
    expect(checkLedgerCapture(posting(), undefined)).toMatchObject({ outcome: 'discrepancy', kind: 'missing_at_processor' });
    expect(checkLedgerCapture(posting(), capture({ reversed: true }))).toMatchObject({ outcome: 'discrepancy', kind: 'missing_at_processor' });
  });
});

describe('days and counts', () => {
  it('isDay accepts real UTC days only', () => {
    expect(isDay('2026-02-28')).toBe(true);
    expect(['2026-02-30', '2026-13-01', '26-01-01', '2026-1-1', 20260101, undefined].map(isDay)).toEqual([false, false, false, false, false, false]);
  });

  it('the scheduled run takes the day before (UTC), and a day is [00:00, next 00:00)', () => {
    expect(dayBefore(new Date('2026-12-01T02:00:00Z'))).toBe('2026-11-30');
    expect(dayBefore(new Date('2026-03-01T00:00:00Z'))).toBe('2026-02-28');
    expect(dayRange('2026-11-30')).toEqual({ start: '2026-11-30T00:00:00.000Z', end: '2026-12-01T00:00:00.000Z' });
  });

  it('counts each outcome once, discrepancies by kind', () => {
    const counts = emptyCounts();
    for (const outcome of ['matched', 'matched', 'in_flight', 'recovered', 'amount_mismatch', 'missing_at_processor'] as const) countOutcome(counts, outcome);
    expect(counts).toMatchObject({ matched: 2, inFlight: 1, recovered: 1, discrepancies: { amount_mismatch: 1, unposted_capture: 0, missing_at_processor: 1 } });
  });

  it("a capture posting's captured amount is its debit of processor clearing", () => {
    expect(capturedAmount(capturePosting({ paymentId: 'p', merchantId: 'm', currency: 'EUR', amount: 1234 }))).toBe(1234);
  });
});
