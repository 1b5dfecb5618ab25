import type { Context } from 'aws-lambda';
import { reconcile } from '#application/reconcile';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { sagaStarterFromSettings } from '#adapters/step-functions-saga-starter';
import { numberSetting, setting } from '#commons/environment';
import { metrics } from '#commons/powertools';

const paymentsTable = paymentsTableFromSettings();
const run = reconcile({
  openItems: paymentsTable,
  payments: paymentsTable,
  merchantIds: setting('reconcileMerchantIds').split(','),
  starter: sagaStarterFromSettings(),
  operatorQueue: sqsQueueFromSettings('sagaFailuresQueueUrl'),
  operatorQueueIsFifo: setting('sagaFailuresQueueUrl').endsWith('.fifo'),
  stuckAfterSeconds: numberSetting('stuckAfterSeconds', 900),
  pageSize: numberSetting('reconcileMaxItems', 50),
  maxRestarts: numberSetting('reconcileMaxRestarts', 3),
});

/** Scheduled: restarts or flags payments and refunds stuck in a non-terminal status. */
export const handler = async (_event: unknown, context?: Context) => {
  try {
    return await run(() => context?.getRemainingTimeInMillis() ?? Infinity);
  } finally {
    metrics.publishStoredMetrics();
  }
};
