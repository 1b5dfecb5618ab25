import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withCorrelation } from '#commons/correlation';
import { logger, metrics } from '#commons/powertools';
import { isPaymentStatus, isSagaTerminal } from '#domain/payment';
import { paymentSagaStart, refundSagaStart, type SagaStart } from '#domain/saga-starts';
import type { OpenItem, OpenItemRef, OpenItems, PaymentScan, PaymentScanCursor, ScannedPaymentState, ScannedPaymentsPage } from '#ports/payments-store';
import type { OutboundQueue } from '#ports/queues';
import type { SagaStarter } from '#ports/saga-starter';

export type ReconcileOutcome = 'started' | 'running' | 'flagged' | 'gaveUp' | 'terminal';

export interface ReconcileSummary {
  examined: number;
  outcomes: Record<ReconcileOutcome, number>;
  /** Stuck-payment signals: the age of the oldest payment and refund still open, seconds (0 when none). */
  oldestOpenAgeSeconds: { payment: number; refund: number };
}

/** The metrics of the stuck-payment signals (an alarm watches each). */
export const OLDEST_OPEN_AGE_METRICS = { payment: 'OldestOpenPaymentAgeSeconds', refund: 'OldestOpenRefundAgeSeconds' } as const;

export interface ReconcileDependencies {
  openItems: OpenItems;
  /** Each merchant's payments in creation order, and reconciliation's cursor over them. */
  payments: PaymentScan;
  /** The stack's merchants (payflow:merchants); a merchant that has a cursor already is scanned too, listed or not. */
  merchantIds: readonly string[];
  starter: SagaStarter;
  /** The saga-failures queue: where an item no saga can move any more is handed to an operator. */
  operatorQueue: OutboundQueue;
  /** FIFO queues need a group and a deduplication id. */
  operatorQueueIsFifo: boolean;
  stuckAfterSeconds: number;
  /** Payments (or open items) read per query page; every page is read while the invocation has time. */
  pageSize: number;
  /** Restarts of one item's saga before it is handed to the saga-failures queue instead (an Express saga can be restarted under its name forever). */
  maxRestarts: number;
  now?: () => Date;
}

/** Stop taking new items when less than this is left of the invocation. */
const SAFETY_MARGIN_MS = 5_000;
/**
 * Payments of one merchant kept on its cursor while their restarted saga has not finished them. Past
 * this many the merchant's scan pauses (before its next payment, whatever its status) until some are settled (the cursor item
 * stays well under DynamoDB's 400 KB).
 */
export const MAX_WATCHED_PAYMENTS = 1_000;

/** Where a run stands: what it counts, and the oldest item it found open before acting on it. */
interface Run {
  deps: ReconcileDependencies;
  at: Date;
  createdBefore: string;
  summary: ReconcileSummary;
  oldestOpen: { payment?: string; refund?: string };
  timeIsUp: () => boolean;
}

/**
 * Scheduled reconciliation (DESIGN §4): finds payments and refunds that have been open longer than
 * `stuckAfterSeconds` and (re)starts their saga under its deterministic execution name. Starting is
 * idempotent: a saga that is running is left alone. One whose execution has ended while the item is
 * still not terminal cannot be restarted under that name; it is flagged to the saga-failures queue
 * with a reason and marked handed over, so it is flagged once. Each restart is counted on the item;
 * after `maxRestarts` the item is handed over the same way instead of being restarted again (an Express
 * execution name is not unique, so a failing item would otherwise restart every run).
 *
 * Payments are found per merchant in creation order from a cursor (one small item per merchant, written
 * at most once per run): each payment created since the last run and now older than the bound is read
 * once (a batch read); the open ones are acted on, and those whose saga is restarted or still running
 * stay on the cursor's watch list and are examined on every run until they are terminal or handed over.
 * Refunds, and payments an earlier version put into the open-items index, are read from that index.
 * Every page is read while time remains, so items that keep failing cannot hide newer ones.
 */
export function reconcile(deps: ReconcileDependencies) {
  const { openItems, payments, merchantIds, stuckAfterSeconds, now = () => new Date() } = deps;
  return async (remainingMs: () => number = () => Infinity): Promise<ReconcileSummary> => {
    const at = now();
    const run: Run = {
      deps,
      at,
      createdBefore: new Date(at.getTime() - stuckAfterSeconds * 1000).toISOString(),
      summary: { examined: 0, outcomes: { started: 0, running: 0, flagged: 0, gaveUp: 0, terminal: 0 }, oldestOpenAgeSeconds: { payment: 0, refund: 0 } },
      oldestOpen: {},
      timeIsUp: () => remainingMs() < SAFETY_MARGIN_MS,
    };
    try {
      // Stuck-item signals, read before acting: the oldest item still in the open-items index.
      for (const entity of ['payment', 'refund'] as const) seenOpen(run, entity, await openItems.oldestOpenCreatedAt(entity));
      // The open-items index first (refunds, and payments of an earlier version): a merchant's first scan after an
      // upgrade reads its whole history, over several runs, and must not keep them waiting.
      for (const entity of ['payment', 'refund'] as const) {
        let cursor: string | undefined;
        do {
          if (run.timeIsUp()) return run.summary;
          const page = await openItems.openItemRefs(entity, run.createdBefore, deps.pageSize, cursor);
          for (const ref of page.refs) {
            if (run.timeIsUp()) return run.summary;
            await examine(run, ref);
          }
          cursor = page.cursor;
        } while (cursor);
      }
      const cursors = await payments.paymentScanCursors();
      const merchants = [...new Set([...merchantIds, ...cursors.map((cursor) => cursor.merchantId)])];
      for (const [index, merchantId] of merchants.entries()) {
        if (run.timeIsUp()) return run.summary;
        // An equal share of the time left: one merchant's backfill (its first scan after an upgrade) or a
        // long watch list cannot keep the merchants after it waiting run after run.
        const left = remainingMs();
        const shareEndsAt = Number.isFinite(left) ? left - (left - SAFETY_MARGIN_MS) / (merchants.length - index) : -Infinity;
        const merchantRun = { ...run, timeIsUp: () => run.timeIsUp() || remainingMs() < shareEndsAt };
        await reconcileMerchant(merchantRun, cursors.find((cursor) => cursor.merchantId === merchantId) ?? { merchantId, watching: [], version: 0 });
      }
      return run.summary;
    } finally {
      const { summary } = run;
      for (const entity of ['payment', 'refund'] as const) {
        const oldest = run.oldestOpen[entity];
        summary.oldestOpenAgeSeconds[entity] = oldest ? Math.max(0, Math.floor((at.getTime() - Date.parse(oldest)) / 1000)) : 0;
        metrics.addMetric(OLDEST_OPEN_AGE_METRICS[entity], MetricUnit.Seconds, summary.oldestOpenAgeSeconds[entity]);
      }
      logger.info('Reconciliation run', { ...summary });
      metrics.addMetric('ReconcileSagasStarted', MetricUnit.Count, summary.outcomes.started);
      metrics.addMetric('ReconcileFlagged', MetricUnit.Count, summary.outcomes.flagged + summary.outcomes.gaveUp);
    }
  };
}

function seenOpen(run: Run, entity: 'payment' | 'refund', createdAt: string | undefined) {
  const oldest = run.oldestOpen[entity];
  if (createdAt && (!oldest || createdAt < oldest)) run.oldestOpen[entity] = createdAt;
}

/** A restarted or running saga may still leave the item open: it is examined again on the next run. */
const mayStayOpen = (outcome: ReconcileOutcome) => outcome === 'started' || outcome === 'running';

/**
 * One merchant: the payments its cursor watches, then those created since the cursor and before the
 * bound, oldest first. The cursor moves past every payment examined (terminal, handed over, or now
 * watched) and is stored once, when something changed.
 */
async function reconcileMerchant(run: Run, cursor: PaymentScanCursor): Promise<void> {
  const { payments, pageSize } = run.deps;
  const watching: string[] = [];
  for (const [index, paymentId] of cursor.watching.entries()) {
    if (run.timeIsUp()) {
      watching.push(...cursor.watching.slice(index));
      break;
    }
    if (mayStayOpen(await examine(run, { entity: 'payment', paymentId }))) watching.push(paymentId);
  }

  let after = cursor.after;
  let reachedBound = true;
  let scanned = 0;
  let page: ScannedPaymentsPage | undefined;
  scan: do {
    if (run.timeIsUp() || watching.length >= MAX_WATCHED_PAYMENTS) {
      reachedBound = false;
      break;
    }
    page = await payments.merchantPayments({ merchantId: cursor.merchantId, createdBefore: run.createdBefore, pageSize, after: cursor.after, cursor: page?.cursor });
    const states = page.payments.length > 0 ? await payments.scannedPaymentStates(page.payments.map((payment) => payment.paymentId)) : new Map<string, ScannedPaymentState>();
    for (const payment of page.payments) {
      if (run.timeIsUp() || watching.length >= MAX_WATCHED_PAYMENTS) {
        // Not examined yet, so not known to be terminal: it counts as open for the signal — except in a merchant's
        // first scan (no cursor yet), which after an upgrade reads years of settled payments over several runs.
        if (cursor.after !== undefined) seenOpen(run, 'payment', payment.createdAt);
        reachedBound = false;
        break scan;
      }
      const state = states.get(payment.paymentId);
      // Terminal and handed-over payments need nothing; one still in the open-items index is examined from there.
      if (state && !state.handedOver && !state.inOpenItems && !isTerminal(state.status)) {
        if (mayStayOpen(await examine(run, { entity: 'payment', paymentId: payment.paymentId }))) watching.push(payment.paymentId);
      }
      after = payment.position;
      scanned += 1;
    }
  } while (page.cursor);
  // Everything created before the bound has been examined: the next run starts there. A range that held
  // nothing leaves the cursor where it was (no write for an idle merchant).
  if (reachedBound && scanned > 0) after = payments.positionAt(run.createdBefore);

  const unchanged = after === cursor.after && watching.length === cursor.watching.length && watching.every((id, index) => id === cursor.watching[index]);
  if (unchanged) return;
  const saved = await payments.savePaymentScanCursor({ merchantId: cursor.merchantId, ...(after !== undefined ? { after } : {}), watching, version: cursor.version });
  if (!saved) logger.warn('Another reconciliation run stored this merchant\'s cursor first; its cursor stands', { merchantId: cursor.merchantId });
}

const isTerminal = (status: string) => isPaymentStatus(status) && isSagaTerminal(status);

/** Reads the item (strongly consistent) and restarts or flags it when it is still open; counts the outcome. */
async function examine(run: Run, ref: OpenItemRef): Promise<ReconcileOutcome> {
  run.summary.examined += 1;
  const outcome = await reconcileItem(run, ref);
  run.summary.outcomes[outcome] += 1;
  return outcome;
}

async function reconcileItem(run: Run, ref: OpenItemRef): Promise<ReconcileOutcome> {
  const item = await run.deps.openItems.readOpenItem(ref);
  const start = item && !item.handedOverAt ? openSagaStart(item) : undefined;
  if (!item || !start) return 'terminal';
  seenOpen(run, item.entity, item.createdAt);
  const correlation = { paymentId: ref.paymentId, ...(ref.entity === 'refund' ? { refundId: ref.refundId } : {}), requestId: item.requestId };
  return withCorrelation('reconcile', correlation, () => restartOrFlag(run.deps, ref, item, start, run.at));
}

async function restartOrFlag(deps: ReconcileDependencies, ref: OpenItemRef, item: OpenItem, start: SagaStart, at: Date): Promise<ReconcileOutcome> {
  const { openItems, starter, maxRestarts } = deps;
  if (item.reconcileRestarts >= maxRestarts) {
    const reason = `reconciliation restarted the ${start.saga} saga ${item.reconcileRestarts} time(s) and the ${item.entity} is still ${item.status}`;
    return (await handToOperator(deps, ref, item, start, at, { kind: 'restarts_exhausted', reason })) ? 'gaveUp' : 'terminal';
  }
  const started = await starter.start(start);
  if (!started.alreadyExisted) {
    // Only a new execution counts (a running one is left alone, however long it runs).
    await openItems.countRestart(ref);
    logger.warn('Started the saga of a stuck item', { executionName: start.name, status: item.status, restarts: item.reconcileRestarts + 1 });
    return 'started';
  }
  const status = await starter.status(started.executionArn);
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return 'running';
  // The execution may have finished the item after it was read: only a fresh read decides.
  const current = await openItems.readOpenItem(ref);
  if (!current || current.status !== item.status) return 'terminal';

  const reason = `the ${start.saga} saga execution ended (${status ?? 'unknown'}) but the ${item.entity} is still ${item.status}`;
  const handed = await handToOperator(deps, ref, current, start, at, { kind: 'execution_ended', reason, executionArn: started.executionArn, executionStatus: status });
  return handed ? 'flagged' : 'terminal';
}

/** Sends the case to the saga-failures queue, then marks the item handed over (once: deduplicated by kind and name). */
async function handToOperator(
  { openItems, operatorQueue, operatorQueueIsFifo }: ReconcileDependencies,
  ref: OpenItemRef,
  item: OpenItem,
  start: SagaStart,
  at: Date,
  finding: { kind: 'execution_ended' | 'restarts_exhausted'; reason: string; executionArn?: string; executionStatus?: string },
): Promise<boolean> {
  logger.error('Handing a stuck item to an operator', { executionName: start.name, ...finding });
  const flaggedAt = at.toISOString();
  const { requestHash: _hash, ...publicPart } = item;
  const failures = await operatorQueue.send([
    {
      key: start.name,
      payload: {
        source: 'reconciliation',
        ...finding,
        saga: start.saga,
        input: start.input,
        ...(item.requestId ? { requestId: item.requestId } : {}),
        item: publicPart,
        flaggedAt,
      },
      ...(operatorQueueIsFifo ? { groupId: start.input.paymentId, deduplicationId: `reconcile-${finding.kind}-${start.name}` } : {}),
    },
  ]);
  const failure = failures.get(start.name);
  if (failure) throw failure;
  return openItems.handToOperator(ref, item.status, flaggedAt);
}

/** The saga an item still needs, or undefined when it has reached a status the saga does not move it from. */
function openSagaStart(item: OpenItem): SagaStart | undefined {
  if (item.entity === 'payment' && isPaymentStatus(item.status) && !isSagaTerminal(item.status)) return paymentSagaStart(item.id, item.requestId);
  if (item.entity === 'refund' && item.status === 'pending') return refundSagaStart(item.paymentId, item.id, item.requestId);
  return undefined;
}
