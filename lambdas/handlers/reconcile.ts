import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Context } from 'aws-lambda';
import { numberEnv, requiredEnv } from '#commons/env';
import { logger, metrics } from '#commons/powertools';
import { isPaymentStatus, isSagaTerminal } from '#domain/payment';
import { paymentSagaStart, refundSagaStart, type SagaStart } from '#domain/saga-starts';
import { markHandedToOperator, openItemKeys, readItem, type ItemKey } from '#adapters/open-items';
import { sendMessages } from '#adapters/queue-publisher';
import { executionStatus, startSaga } from '#adapters/saga-starter';

/**
 * Scheduled reconciliation (DESIGN §4): finds payments and refunds that have been open longer than
 * STUCK_AFTER_SECONDS and (re)starts their saga under its deterministic execution name. Starting is
 * idempotent: a saga that is running is left alone. One whose execution has ended while the item is
 * still not terminal cannot be restarted under that name; it is flagged to the saga-failures queue
 * with a reason and taken out of the open-items index, so it is flagged once.
 */
const stuckAfterSeconds = numberEnv('STUCK_AFTER_SECONDS', 900);
const maxItemsPerEntity = numberEnv('RECONCILE_MAX_ITEMS', 50);
const sagaFailuresQueueUrl = requiredEnv('SAGA_FAILURES_QUEUE_URL');
/** Stop taking new items when less than this is left of the invocation. */
const SAFETY_MARGIN_MS = 5_000;

export type ReconcileOutcome = 'started' | 'running' | 'flagged' | 'terminal';

export interface ReconcileSummary {
  examined: number;
  outcomes: Record<ReconcileOutcome, number>;
}

export const handler = async (_event: unknown, context?: Context): Promise<ReconcileSummary> => {
  const now = new Date();
  const createdBefore = new Date(now.getTime() - stuckAfterSeconds * 1000).toISOString();
  const summary: ReconcileSummary = { examined: 0, outcomes: { started: 0, running: 0, flagged: 0, terminal: 0 } };
  try {
    for (const entity of ['payment', 'refund'] as const) {
      for (const key of await openItemKeys(entity, createdBefore, maxItemsPerEntity)) {
        if (context && context.getRemainingTimeInMillis() < SAFETY_MARGIN_MS) return summary;
        summary.examined += 1;
        summary.outcomes[await reconcile(key, now)] += 1;
      }
    }
    return summary;
  } finally {
    logger.info('Reconciliation run', { ...summary });
    metrics.addMetric('ReconcileSagasStarted', MetricUnit.Count, summary.outcomes.started);
    metrics.addMetric('ReconcileFlagged', MetricUnit.Count, summary.outcomes.flagged);
    metrics.publishStoredMetrics();
  }
};

async function reconcile(key: ItemKey, now: Date): Promise<ReconcileOutcome> {
  const item = await readItem(key);
  const start = item && openSagaStart(item);
  if (!item || !start) return 'terminal';

  const started = await startSaga(start);
  if (!started.alreadyExisted) {
    logger.warn('Started the saga of a stuck item', { executionName: start.name, status: item.status });
    return 'started';
  }
  const status = await executionStatus(started.executionArn);
  if (status === 'RUNNING' || status === 'PENDING_REDRIVE') return 'running';
  // The execution may have finished the item after it was read: only a fresh read decides.
  const current = await readItem(key);
  if (!current || current.status !== item.status) return 'terminal';

  const reason = `the ${start.saga} saga execution ended (${status ?? 'unknown'}) but the ${String(item.entity)} is still ${String(item.status)}`;
  logger.error('Flagging a stuck item', { executionArn: started.executionArn, reason });
  const flaggedAt = now.toISOString();
  const failures = await sendMessages(sagaFailuresQueueUrl, [
    {
      key: start.name,
      body: JSON.stringify({
        source: 'reconciliation',
        reason,
        saga: start.saga,
        input: start.input,
        executionArn: started.executionArn,
        executionStatus: status,
        item: publicPart(item),
        flaggedAt,
      }),
      ...(sagaFailuresQueueUrl.endsWith('.fifo') ? { groupId: start.input.paymentId, deduplicationId: `reconcile-${start.name}` } : {}),
    },
  ]);
  const failure = failures.get(start.name);
  if (failure) throw failure;
  await markHandedToOperator(key, String(item.status), flaggedAt);
  return 'flagged';
}

/** The saga an item still needs, or undefined when it has reached a status the saga does not move it from. */
function openSagaStart(item: Record<string, unknown>): SagaStart | undefined {
  if (item.entity === 'payment' && isPaymentStatus(item.status) && !isSagaTerminal(item.status)) {
    return paymentSagaStart(String(item.id));
  }
  if (item.entity === 'refund' && item.status === 'pending') return refundSagaStart(String(item.paymentId), String(item.id));
  return undefined;
}

function publicPart(item: Record<string, unknown>): Record<string, unknown> {
  const { PK: _pk, SK: _sk, requestHash: _hash, ...rest } = item;
  return rest;
}
