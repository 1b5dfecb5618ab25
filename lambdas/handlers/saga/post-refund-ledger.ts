import { postRefundLedger } from '#application/refund-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('PostRefundLedger', postRefundLedger(paymentsTableFromSettings()));
