/**
 * The daily reconciliation against the processor's records (issue 12): pages the processor's captures
 * of a day against the payments and their capture postings, then the day's capture postings against
 * the processor, and acts on what the domain decides (lambdas/domain/daily-reconciliation.ts):
 *
 * - a capture the ledger lacks, of a payment still pending (or an earlier version's processing), is recovered
 *   through the saga's own postLedger step: the same conditional transaction the saga posts
 *   with, so the capture is posted once whoever gets there first;
 * - a discrepancy is recorded, sent to the operator queue (the saga-failures queue) and counted in a
 *   metric that an alarm watches.
 *
 * Idempotent per day: what a run finds is recorded once per payment, and a later run of the same day
 * takes the recorded finding instead of acting again, so it posts, records and sends nothing new.
 */
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { logger, metrics } from '#commons/powertools';
import {
  checkLedgerCapture,
  checkProcessorCapture,
  countOutcome,
  emptyCounts,
  type DailyReport,
  type Day,
  type Finding,
  type LedgerCapture,
  type PaymentView,
  type ProcessorCapture,
} from '#domain/daily-reconciliation';
import type { DailyReports } from '#ports/daily-reports';
import { PaymentStateConflict, type CaptureLedger, type SagaLedger } from '#ports/payments-store';
import type { ProcessorRecords } from '#ports/processor';
import type { OutboundQueue } from '#ports/queues';
import { postLedger } from '#application/payment-saga';

/** The metrics of a run: an alarm watches the discrepancies. */
export const DAILY_RECONCILIATION_METRICS = { discrepancies: 'ReconciliationDiscrepancies', recovered: 'ReconciliationRecovered' } as const;

export interface DailyReconciliationDependencies {
  processor: ProcessorRecords;
  ledger: CaptureLedger;
  /** The saga's own posting steps, for recoveries. */
  saga: SagaLedger;
  reports: DailyReports;
  /** The saga-failures queue: where an operator picks up each discrepancy. */
  operatorQueue: OutboundQueue;
  operatorQueueIsFifo: boolean;
  /** A capture younger than this may still be being posted by its saga: in flight, not recovered. */
  settleSeconds: number;
  now?: () => Date;
}

export function reconcileDay(deps: DailyReconciliationDependencies) {
  const { processor, ledger, reports, now = () => new Date() } = deps;
  return async (day: Day): Promise<DailyReport> => {
    const startedAt = now();
    const settledBefore = new Date(startedAt.getTime() - deps.settleSeconds * 1000).toISOString();
    const recorded = new Map((await reports.findingsOf(day)).map((finding) => [finding.paymentId, finding]));
    const counts = emptyCounts();
    /** Payments the processor's listing counted: the ledger pass counts only the others. */
    const counted = new Set<string>();
    const fresh = { discrepancies: 0, recovered: 0 };
    const record = async (finding: Finding) => {
      if (finding.kind === 'recovered') fresh.recovered += 1;
      else {
        fresh.discrepancies += 1;
        await notifyOperator(deps, finding);
      }
      await reports.recordFinding(finding);
      recorded.set(finding.paymentId, finding);
      countOutcome(counts, finding.kind);
      counted.add(finding.paymentId);
    };

    // The processor's captures of the day against the payments and their postings.
    let pageToken: string | undefined;
    do {
      const page = await processor.capturesOfDay(day, pageToken);
      counts.processorCaptures += page.items.length;
      const ledgerViews = await ledger.captureLedgerOf(page.items.filter((c) => !recorded.has(c.paymentId)).map((c) => c.paymentId));
      for (const capture of page.items) {
        counted.add(capture.paymentId);
        const known = recorded.get(capture.paymentId);
        if (known) {
          countOutcome(counts, known.kind);
          continue;
        }
        const view = ledgerViews.get(capture.paymentId) ?? {};
        const check = checkProcessorCapture(capture, view, settledBefore);
        const base = { day, paymentId: capture.paymentId, processor: processorPart(capture), ...ledgerPart(view.posting), ...(view.payment ? { paymentStatus: view.payment.status } : {}), foundAt: startedAt.toISOString() };
        if (check.outcome === 'matched' || check.outcome === 'in_flight') countOutcome(counts, check.outcome);
        else if (check.outcome === 'discrepancy') await record({ ...base, kind: check.kind, detail: check.detail });
        else {
          const refused = await recover(deps.saga, capture, check.payment);
          await record(refused ? { ...base, kind: 'unposted_capture', detail: refused } : { ...base, kind: 'recovered', detail: `posted the processor's capture of ${capture.amount} ${capture.currency} (payment was ${check.payment.status})` });
        }
      }
      pageToken = page.nextPageToken;
    } while (pageToken);

    // The day's capture postings against the processor: what its listing could not show.
    do {
      const page = await ledger.capturePostingsOfDay(day, pageToken);
      counts.ledgerPostings += page.items.length;
      for (const posting of page.items) {
        const known = recorded.get(posting.paymentId);
        // A finding of an earlier run that only this pass can see (the processor does not list the payment).
        if (known && !counted.has(posting.paymentId)) {
          countOutcome(counts, known.kind);
          counted.add(posting.paymentId);
        }
      }
      const unseen = page.items.filter((posting) => !recorded.has(posting.paymentId));
      const captures = unseen.length > 0 ? await processor.capturesOf(unseen) : new Map<string, ProcessorCapture>();
      for (const posting of unseen) {
        const capture = captures.get(posting.paymentId);
        const check = checkLedgerCapture(posting, capture);
        if (check?.outcome !== 'discrepancy') continue;
        await record({ day, paymentId: posting.paymentId, kind: check.kind, detail: check.detail, ...(capture ? { processor: processorPart(capture) } : {}), ...ledgerPart(posting), foundAt: startedAt.toISOString() });
      }
      pageToken = page.nextPageToken;
    } while (pageToken);

    const lastRunAt = now().toISOString();
    await reports.saveReport({ day, counts, lastRunAt });
    logger.info('Daily reconciliation run', { day, ...counts, newDiscrepancies: fresh.discrepancies, newRecoveries: fresh.recovered });
    metrics.addMetric(DAILY_RECONCILIATION_METRICS.discrepancies, MetricUnit.Count, fresh.discrepancies);
    metrics.addMetric(DAILY_RECONCILIATION_METRICS.recovered, MetricUnit.Count, fresh.recovered);
    return { day, counts, findings: [...recorded.values()], lastRunAt };
  };
}

/**
 * Posts a capture the ledger lacks with the saga's own step; a payment that moved meanwhile to a
 * status it cannot post from is refused (the reason is returned), nothing is written then.
 */
async function recover(saga: SagaLedger, capture: ProcessorCapture, payment: PaymentView): Promise<string | undefined> {
  try {
    const state = {
      paymentId: payment.id,
      merchantId: payment.merchantId,
      amount: payment.amount,
      currency: payment.currency,
      ...(capture.authorizationId ? { authorizationId: capture.authorizationId } : {}),
      captureId: capture.captureId,
      capturedAt: capture.capturedAt,
    };
    await postLedger(saga)(state);
    logger.warn('Daily reconciliation posted a capture the ledger lacked', { paymentId: payment.id, captureId: capture.captureId });
    return undefined;
  } catch (error) {
    if (!(error instanceof PaymentStateConflict)) throw error;
    return `the processor captured ${capture.amount} ${capture.currency} but the posting was refused: ${error.message}`;
  }
}

async function notifyOperator({ operatorQueue, operatorQueueIsFifo }: DailyReconciliationDependencies, finding: Finding): Promise<void> {
  const key = `reconciliation-${finding.day}-${finding.paymentId}`;
  logger.error('Reconciliation discrepancy', { ...finding });
  const failures = await operatorQueue.send([
    {
      key,
      payload: { source: 'daily-reconciliation', reason: finding.detail, ...finding },
      ...(operatorQueueIsFifo ? { groupId: finding.paymentId, deduplicationId: key } : {}),
    },
  ]);
  const failure = failures.get(key);
  if (failure) throw failure;
}

const processorPart = (capture: ProcessorCapture): NonNullable<Finding['processor']> => ({
  captureId: capture.captureId,
  amount: capture.amount,
  currency: capture.currency,
  capturedAt: capture.capturedAt,
  refundedAmount: capture.refundedAmount,
  reversed: capture.reversed,
});

const ledgerPart = (posting: LedgerCapture | undefined): Pick<Finding, 'ledger'> =>
  posting ? { ledger: { amount: posting.amount, currency: posting.currency, postedAt: posting.postedAt } } : {};
