import { markProcessing } from '#application/payment-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('MarkProcessing', markProcessing(paymentsTableFromSettings()));
