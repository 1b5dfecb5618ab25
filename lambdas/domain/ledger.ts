/**
 * Double-entry ledger postings (CONTRACT "Ledger posting item"). A capture debits the processor
 * clearing account and credits the merchant; a refund reverses part of that. Every posting's lines
 * are signed integer minor units that sum to zero, so the sum of all balances is always zero.
 */
import type { Currency } from '#domain/money';

export const PROCESSOR_CLEARING_ACCOUNT = 'processor_clearing';
export const merchantAccount = (merchantId: string) => `merchant:${merchantId}`;

export interface LedgerLine {
  readonly account: string;
  /** Signed integer minor units: positive = debit, negative = credit. */
  readonly amount: number;
}

export interface Posting {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly currency: Currency;
  readonly lines: readonly LedgerLine[];
}

export interface CaptureToPost {
  readonly paymentId: string;
  readonly merchantId: string;
  readonly currency: Currency;
  readonly amount: number;
}

export interface RefundToPost extends CaptureToPost {
  readonly refundId: string;
}

export class InvalidPostingAmount extends Error {
  override readonly name = 'InvalidPostingAmount';
}

function assertPositiveMinorUnits(amount: number): void {
  if (!Number.isSafeInteger(amount) || amount <= 0) {
    throw new InvalidPostingAmount(`A posting amount must be a positive integer of minor units, got ${amount}`);
  }
}

/** Money captured from the card: the processor owes it (debit clearing), the merchant is owed it (credit). */
export function capturePosting(capture: CaptureToPost): Posting {
  assertPositiveMinorUnits(capture.amount);
  return {
    paymentId: capture.paymentId,
    merchantId: capture.merchantId,
    currency: capture.currency,
    lines: [
      { account: PROCESSOR_CLEARING_ACCOUNT, amount: capture.amount },
      { account: merchantAccount(capture.merchantId), amount: -capture.amount },
    ],
  };
}

/** A refund reverses (part of) the capture: debit the merchant, credit clearing. */
export function refundPosting(refund: RefundToPost): Posting {
  assertPositiveMinorUnits(refund.amount);
  return {
    paymentId: refund.paymentId,
    merchantId: refund.merchantId,
    currency: refund.currency,
    lines: [
      { account: merchantAccount(refund.merchantId), amount: refund.amount },
      { account: PROCESSOR_CLEARING_ACCOUNT, amount: -refund.amount },
    ],
  };
}

/** What a capture posting says was captured: its debit of the processor clearing account. */
export function capturedAmount(posting: Pick<Posting, 'lines'>): number {
  return posting.lines.filter((line) => line.account === PROCESSOR_CLEARING_ACCOUNT).reduce((sum, line) => sum + line.amount, 0);
}

/** Balanced: at least two lines, every amount a non-zero safe integer, and they sum to zero. */
export function isBalanced(lines: readonly LedgerLine[]): boolean {
  if (lines.length < 2) return false;
  if (!lines.every((line) => Number.isSafeInteger(line.amount) && line.amount !== 0)) return false;
  return lines.reduce((sum, line) => sum + line.amount, 0) === 0;
}

/** Balance of every account over the given postings (sum of its lines), per currency. */
export function balancesByAccount(postings: readonly Pick<Posting, 'currency' | 'lines'>[]): Record<string, Record<string, number>> {
  const balances: Record<string, Record<string, number>> = {};
  for (const posting of postings) {
    const perAccount = (balances[posting.currency] ??= {});
    for (const line of posting.lines) perAccount[line.account] = (perAccount[line.account] ?? 0) + line.amount;
  }
  return balances;
}

/** Sum of all balances of each currency: zero for every currency when the ledger balances. */
export function totalBalanceByCurrency(postings: readonly Pick<Posting, 'currency' | 'lines'>[]): Record<string, number> {
  const totals: Record<string, number> = {};
  for (const [currency, accounts] of Object.entries(balancesByAccount(postings))) {
    totals[currency] = Object.values(accounts).reduce((sum, balance) => sum + balance, 0);
  }
  return totals;
}
