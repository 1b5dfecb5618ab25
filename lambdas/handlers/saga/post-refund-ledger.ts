import { postRefundLedger } from '#application/refund-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';

export const handler = postRefundLedger(paymentsTableFromSettings());
