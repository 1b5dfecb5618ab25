import { reconcileDay } from '#application/daily-reconciliation';
import { DailyReportsTable } from '#adapters/dynamodb/daily-reports-table';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { sqsQueueFromSettings } from '#adapters/sqs-queue';
import { documentClient } from '#commons/dynamodb';
import { numberSetting, setting } from '#commons/environment';
import { metrics } from '#commons/powertools';
import { processorFromSettings } from '#commons/processor';
import { dayBefore, isDay } from '#domain/daily-reconciliation';

const paymentsTable = paymentsTableFromSettings();
const run = reconcileDay({
  processor: processorFromSettings(),
  ledger: paymentsTable,
  saga: paymentsTable,
  reports: new DailyReportsTable(documentClient, setting('dailyReportsTable')),
  operatorQueue: sqsQueueFromSettings('sagaFailuresQueueUrl'),
  operatorQueueIsFifo: setting('sagaFailuresQueueUrl').endsWith('.fifo'),
  settleSeconds: numberSetting('settleSeconds', 900),
});

/** Scheduled daily (EventBridge sends `time`): reconciles the day before. Invoked with `{ "day": "YYYY-MM-DD" }`: that day. */
export const handler = async (event: { day?: unknown; time?: string } = {}) => {
  const day = event.day ?? dayBefore(event.time ? new Date(event.time) : new Date());
  if (!isDay(day)) throw new Error(`Not a day (YYYY-MM-DD): ${JSON.stringify(day)}`);
  try {
    return await run(day);
  } finally {
    metrics.publishStoredMetrics();
  }
};
