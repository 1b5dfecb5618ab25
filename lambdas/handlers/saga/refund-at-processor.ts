import { refundAtProcessor } from '#application/refund-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { processorFromSettings } from '#commons/processor';

export const handler = refundAtProcessor(paymentsTableFromSettings(), processorFromSettings());
