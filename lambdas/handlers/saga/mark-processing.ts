import { markProcessing } from '#application/payment-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';

export const handler = markProcessing(paymentsTableFromSettings());
