import { releaseRefund } from '#application/refund-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';

export const handler = releaseRefund(paymentsTableFromSettings());
