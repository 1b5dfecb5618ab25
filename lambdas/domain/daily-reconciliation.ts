/**
 * Daily reconciliation against the processor's records (issue 12): the pure decisions. For one day,
 * every capture the processor lists is compared with the payment and its capture posting, and every
 * capture posting of the day is compared with the processor's capture of that payment.
 *
 * | processor | ledger and payment | outcome |
 * | captured | posting of the same amount and currency | matched |
 * | captured | no posting, payment pending or processing with the same amount | recover: post it through the saga's own steps (posted once) |
 * | captured | no posting, payment failed, the capture refunded in full (the saga's compensation) | matched |
 * | captured | posting of another amount or currency, or a payment of another amount | discrepancy `amount_mismatch` |
 * | captured | no posting and the payment is failed, unknown or past processing | discrepancy `unposted_capture` |
 * | reversed (voided after capture) or absent | a capture posting | discrepancy `missing_at_processor` |
 * | reversed | no posting | matched |
 *
 * A capture younger than the settling time is `in_flight`: its saga may still be posting it.
 */
import type { Currency } from '#domain/money';
import type { PaymentStatus } from '#domain/payment';

/** `YYYY-MM-DD`, a UTC day. */
export type Day = string;

export const DISCREPANCY_KINDS = ['amount_mismatch', 'unposted_capture', 'missing_at_processor'] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];

/** A capture as the processor records it. */
export interface ProcessorCapture {
  paymentId: string;
  captureId: string;
  authorizationId?: string;
  amount: number;
  currency: Currency;
  capturedAt: string;
  /** Refunded so far at the processor (the saga's compensating refund included). */
  refundedAmount: number;
  /** Cancelled after the capture (the void that follows an ambiguous capture): nothing was taken. */
  reversed: boolean;
}

/** A capture as the ledger records it. */
export interface LedgerCapture {
  paymentId: string;
  amount: number;
  currency: Currency;
  postedAt: string;
  /** The processor's authorization it captured, when the saga knew it. */
  authorizationId?: string;
}

/** What the payments store knows of a payment the processor captured. */
export interface PaymentView {
  id: string;
  merchantId: string;
  status: PaymentStatus;
  amount: number;
  currency: Currency;
}

export type CaptureCheck =
  | { outcome: 'matched' }
  | { outcome: 'in_flight' }
  | { outcome: 'recover'; payment: PaymentView }
  | { outcome: 'discrepancy'; kind: DiscrepancyKind; detail: string };

const RECOVERABLE_STATUSES: readonly PaymentStatus[] = ['pending', 'processing'];

const DAY_PATTERN = /^\d{4}-\d{2}-\d{2}$/;

export function isDay(value: unknown): value is Day {
  if (typeof value !== 'string' || !DAY_PATTERN.test(value)) return false;
  const parsed = new Date(`${value}T00:00:00.000Z`);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().startsWith(value);
}

/** The UTC day an ISO 8601 instant falls on. */
export const dayOf = (instant: string | Date): Day => new Date(instant).toISOString().slice(0, 10);

/** The day before `at` (UTC): what the scheduled run reconciles. */
export const dayBefore = (at: Date): Day => dayOf(new Date(at.getTime() - 86_400_000));

/** [start, end) of a day as ISO 8601 instants. */
export function dayRange(day: Day): { start: string; end: string } {
  const start = new Date(`${day}T00:00:00.000Z`);
  return { start: start.toISOString(), end: new Date(start.getTime() + 86_400_000).toISOString() };
}

const money = (amount: number, currency: string) => `${amount} ${currency}`;

/**
 * The processor's capture against the payment and its capture posting. `settledBefore`: captures at or
 * after it are still in flight when nothing matches yet.
 */
export function checkProcessorCapture(
  capture: ProcessorCapture,
  ledger: { payment?: PaymentView; posting?: LedgerCapture },
  settledBefore: string,
): CaptureCheck {
  const { payment, posting } = ledger;
  if (capture.reversed) {
    if (!posting) return { outcome: 'matched' };
    return {
      outcome: 'discrepancy',
      kind: 'missing_at_processor',
      detail: `the ledger posted ${money(posting.amount, posting.currency)} but the processor reversed capture ${capture.captureId}`,
    };
  }
  if (posting) {
    if (posting.amount === capture.amount && posting.currency === capture.currency) return { outcome: 'matched' };
    return {
      outcome: 'discrepancy',
      kind: 'amount_mismatch',
      detail: `the processor captured ${money(capture.amount, capture.currency)}, the ledger posted ${money(posting.amount, posting.currency)}`,
    };
  }
  if (payment?.status === 'failed' && capture.refundedAmount >= capture.amount) return { outcome: 'matched' };
  if (capturedAtOrAfter(capture, settledBefore)) return { outcome: 'in_flight' };
  if (!payment) {
    return { outcome: 'discrepancy', kind: 'unposted_capture', detail: `the processor captured ${money(capture.amount, capture.currency)} for a payment the store does not have` };
  }
  if (payment.amount !== capture.amount || payment.currency !== capture.currency) {
    return {
      outcome: 'discrepancy',
      kind: 'amount_mismatch',
      detail: `the processor captured ${money(capture.amount, capture.currency)}, the payment is for ${money(payment.amount, payment.currency)} (${payment.status}, not posted)`,
    };
  }
  if (RECOVERABLE_STATUSES.includes(payment.status)) return { outcome: 'recover', payment };
  const refunded = capture.refundedAmount > 0 ? ` (${money(capture.refundedAmount, capture.currency)} of it refunded)` : '';
  return {
    outcome: 'discrepancy',
    kind: 'unposted_capture',
    detail: `the processor captured ${money(capture.amount, capture.currency)}${refunded} but the payment is ${payment.status} with no capture posting`,
  };
}

/**
 * A capture posting of the day against the processor's capture of that payment (on any day). Only
 * what the processor side cannot see is decided here: a present capture is compared on its own day.
 */
export function checkLedgerCapture(posting: LedgerCapture, capture: ProcessorCapture | undefined): CaptureCheck | undefined {
  if (capture && !capture.reversed) return undefined;
  return {
    outcome: 'discrepancy',
    kind: 'missing_at_processor',
    detail: capture
      ? `the ledger posted ${money(posting.amount, posting.currency)} but the processor reversed capture ${capture.captureId}`
      : `the ledger posted ${money(posting.amount, posting.currency)} but the processor has no capture of this payment`,
  };
}

const capturedAtOrAfter = (capture: ProcessorCapture, instant: string) => Date.parse(capture.capturedAt) >= Date.parse(instant);

/** What a day's run found for one payment, kept so that a second run finds the same and acts no more. */
export type FindingKind = 'recovered' | DiscrepancyKind;

export interface Finding {
  day: Day;
  paymentId: string;
  kind: FindingKind;
  detail: string;
  processor?: Pick<ProcessorCapture, 'captureId' | 'amount' | 'currency' | 'capturedAt' | 'refundedAmount' | 'reversed'>;
  ledger?: Pick<LedgerCapture, 'amount' | 'currency' | 'postedAt'>;
  paymentStatus?: PaymentStatus;
  foundAt: string;
}

export interface DailyCounts {
  processorCaptures: number;
  ledgerPostings: number;
  matched: number;
  inFlight: number;
  recovered: number;
  discrepancies: Record<DiscrepancyKind, number>;
}

export interface DailyReport {
  day: Day;
  counts: DailyCounts;
  /** Every finding of the day: the recoveries and the discrepancies. */
  findings: Finding[];
  lastRunAt: string;
}

export const emptyCounts = (): DailyCounts => ({
  processorCaptures: 0,
  ledgerPostings: 0,
  matched: 0,
  inFlight: 0,
  recovered: 0,
  discrepancies: { amount_mismatch: 0, unposted_capture: 0, missing_at_processor: 0 },
});

/** Counts one payment's outcome: a recorded finding wins over what this run sees (a recovered payment now matches). */
export function countOutcome(counts: DailyCounts, outcome: 'matched' | 'in_flight' | FindingKind): void {
  if (outcome === 'matched') counts.matched += 1;
  else if (outcome === 'in_flight') counts.inFlight += 1;
  else if (outcome === 'recovered') counts.recovered += 1;
  else counts.discrepancies[outcome] += 1;
}
