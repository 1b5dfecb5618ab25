import { markFailed } from '#application/payment-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';

export const handler = markFailed(paymentsTableFromSettings());
