import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withCorrelation } from '#commons/correlation';
import { logger, metrics } from '#commons/powertools';
import { isPaymentStatus, isSagaTerminal } from '#domain/payment';
import { paymentSagaStart, refundSagaStart, type SagaStart } from '#domain/saga-starts';
import type { OpenItem, OpenItemRef, OpenItems } from '#ports/payments-store';
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
  starter: SagaStarter;
  /** The saga-failures queue: where an item no saga can move any more is handed to an operator. */
  operatorQueue: OutboundQueue;
  /** FIFO queues need a group and a deduplication id. */
  operatorQueueIsFifo: boolean;
  stuckAfterSeconds: number;
  /** Open items read per query page; every page is read while the invocation has time. */
  pageSize: number;
  /** Restarts of one item's saga before it is handed to the saga-failures queue instead (an Express saga can be restarted under its name forever). */
  maxRestarts: number;
  now?: () => Date;
}

/** Stop taking new items when less than this is left of the invocation. */
const SAFETY_MARGIN_MS = 5_000;

/**
 * Scheduled reconciliation (DESIGN §4): finds payments and refunds that have been open longer than
 * `stuckAfterSeconds` and (re)starts their saga under its deterministic execution name. Starting is
 * idempotent: a saga that is running is left alone. One whose execution has ended while the item is
 * still not terminal cannot be restarted under that name; it is flagged to the saga-failures queue
 * with a reason and taken out of the open-items index, so it is flagged once. Each restart is counted
 * on the item; after `maxRestarts` the item is handed over the same way instead of being restarted
 * again (an Express execution name is not unique, so a failing item would otherwise restart every run).
 * Every page of open items is read while time remains, so items that keep failing cannot hide newer ones.
 */
export function reconcile(deps: ReconcileDependencies) {
  const { openItems, stuckAfterSeconds, pageSize, now = () => new Date() } = deps;
  return async (remainingMs: () => number = () => Infinity): Promise<ReconcileSummary> => {
    const at = now();
    const createdBefore = new Date(at.getTime() - stuckAfterSeconds * 1000).toISOString();
    const summary: ReconcileSummary = { examined: 0, outcomes: { started: 0, running: 0, flagged: 0, gaveUp: 0, terminal: 0 }, oldestOpenAgeSeconds: { payment: 0, refund: 0 } };
    try {
      for (const entity of ['payment', 'refund'] as const) {
        const oldest = await openItems.oldestOpenCreatedAt(entity);
        summary.oldestOpenAgeSeconds[entity] = oldest ? Math.max(0, Math.floor((at.getTime() - Date.parse(oldest)) / 1000)) : 0;
        metrics.addMetric(OLDEST_OPEN_AGE_METRICS[entity], MetricUnit.Seconds, summary.oldestOpenAgeSeconds[entity]);
      }
      for (const entity of ['payment', 'refund'] as const) {
        let cursor: string | undefined;
        do {
          if (remainingMs() < SAFETY_MARGIN_MS) return summary;
          const page = await openItems.openItemRefs(entity, createdBefore, pageSize, cursor);
          for (const ref of page.refs) {
            if (remainingMs() < SAFETY_MARGIN_MS) return summary;
            summary.examined += 1;
            summary.outcomes[await reconcileItem(deps, ref, at)] += 1;
          }
          cursor = page.cursor;
        } while (cursor);
      }
      return summary;
    } finally {
      logger.info('Reconciliation run', { ...summary });
      metrics.addMetric('ReconcileSagasStarted', MetricUnit.Count, summary.outcomes.started);
      metrics.addMetric('ReconcileFlagged', MetricUnit.Count, summary.outcomes.flagged + summary.outcomes.gaveUp);
    }
  };
}

async function reconcileItem(deps: ReconcileDependencies, ref: OpenItemRef, at: Date): Promise<ReconcileOutcome> {
  const item = await deps.openItems.readOpenItem(ref);
  const start = item && openSagaStart(item);
  if (!item || !start) return 'terminal';
  const correlation = { paymentId: ref.paymentId, ...(ref.entity === 'refund' ? { refundId: ref.refundId } : {}), requestId: item.requestId };
  return withCorrelation('reconcile', correlation, () => restartOrFlag(deps, ref, item, start, at));
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

/** Sends the case to the saga-failures queue, then takes the item out of the open-items index (once: deduplicated by kind and name). */
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
