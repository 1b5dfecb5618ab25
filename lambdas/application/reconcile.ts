import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { withCorrelation } from '#commons/correlation';
import { logger, metrics } from '#commons/powertools';
import { isPaymentStatus, isSagaTerminal } from '#domain/payment';
import { paymentSagaStart, refundSagaStart, type SagaStart } from '#domain/saga-starts';
import type { OpenItem, OpenItemRef, OpenItems } from '#ports/payments-store';
import type { OutboundQueue } from '#ports/queues';
import type { SagaStarter } from '#ports/saga-starter';

export type ReconcileOutcome = 'started' | 'running' | 'flagged' | 'terminal';

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
  maxItemsPerEntity: number;
  now?: () => Date;
}

/** Stop taking new items when less than this is left of the invocation. */
const SAFETY_MARGIN_MS = 5_000;

/**
 * Scheduled reconciliation (DESIGN §4): finds payments and refunds that have been open longer than
 * `stuckAfterSeconds` and (re)starts their saga under its deterministic execution name. Starting is
 * idempotent: a saga that is running is left alone. One whose execution has ended while the item is
 * still not terminal cannot be restarted under that name; it is flagged to the saga-failures queue
 * with a reason and taken out of the open-items index, so it is flagged once.
 */
export function reconcile(deps: ReconcileDependencies) {
  const { openItems, stuckAfterSeconds, maxItemsPerEntity, now = () => new Date() } = deps;
  return async (remainingMs: () => number = () => Infinity): Promise<ReconcileSummary> => {
    const at = now();
    const createdBefore = new Date(at.getTime() - stuckAfterSeconds * 1000).toISOString();
    const summary: ReconcileSummary = { examined: 0, outcomes: { started: 0, running: 0, flagged: 0, terminal: 0 }, oldestOpenAgeSeconds: { payment: 0, refund: 0 } };
    try {
      for (const entity of ['payment', 'refund'] as const) {
        const oldest = await openItems.oldestOpenCreatedAt(entity);
        summary.oldestOpenAgeSeconds[entity] = oldest ? Math.max(0, Math.floor((at.getTime() - Date.parse(oldest)) / 1000)) : 0;
        metrics.addMetric(OLDEST_OPEN_AGE_METRICS[entity], MetricUnit.Seconds, summary.oldestOpenAgeSeconds[entity]);
      }
      for (const entity of ['payment', 'refund'] as const) {
        for (const ref of await openItems.openItemRefs(entity, createdBefore, maxItemsPerEntity)) {
          if (remainingMs() < SAFETY_MARGIN_MS) return summary;
          summary.examined += 1;
          summary.outcomes[await reconcileItem(deps, ref, at)] += 1;
        }
      }
      return summary;
    } finally {
      logger.info('Reconciliation run', { ...summary });
      metrics.addMetric('ReconcileSagasStarted', MetricUnit.Count, summary.outcomes.started);
      metrics.addMetric('ReconcileFlagged', MetricUnit.Count, summary.outcomes.flagged);
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

async function restartOrFlag(
  { openItems, starter, operatorQueue, operatorQueueIsFifo }: ReconcileDependencies,
  ref: OpenItemRef,
  item: OpenItem,
  start: SagaStart,
  at: Date,
): Promise<ReconcileOutcome> {
  const started = await starter.start(start);
  if (!started.alreadyExisted) {
    logger.warn('Started the saga of a stuck item', { executionName: start.name, status: item.status });
    return 'started';
  }
  const status = await starter.status(started.executionArn);
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return 'running';
  // The execution may have finished the item after it was read: only a fresh read decides.
  const current = await openItems.readOpenItem(ref);
  if (!current || current.status !== item.status) return 'terminal';

  const reason = `the ${start.saga} saga execution ended (${status ?? 'unknown'}) but the ${item.entity} is still ${item.status}`;
  logger.error('Flagging a stuck item', { executionArn: started.executionArn, reason });
  const flaggedAt = at.toISOString();
  const { requestHash: _hash, ...publicPart } = item;
  const failures = await operatorQueue.send([
    {
      key: start.name,
      payload: {
        source: 'reconciliation',
        reason,
        saga: start.saga,
        input: start.input,
        ...(item.requestId ? { requestId: item.requestId } : {}),
        executionArn: started.executionArn,
        executionStatus: status,
        item: publicPart,
        flaggedAt,
      },
      ...(operatorQueueIsFifo ? { groupId: start.input.paymentId, deduplicationId: `reconcile-${start.name}` } : {}),
    },
  ]);
  const failure = failures.get(start.name);
  if (failure) throw failure;
  await openItems.handToOperator(ref, item.status, flaggedAt);
  return 'flagged';
}

/** The saga an item still needs, or undefined when it has reached a status the saga does not move it from. */
function openSagaStart(item: OpenItem): SagaStart | undefined {
  if (item.entity === 'payment' && isPaymentStatus(item.status) && !isSagaTerminal(item.status)) return paymentSagaStart(item.id, item.requestId);
  if (item.entity === 'refund' && item.status === 'pending') return refundSagaStart(item.paymentId, item.id, item.requestId);
  return undefined;
}
