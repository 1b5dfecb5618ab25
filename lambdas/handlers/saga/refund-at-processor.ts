import { refundAtProcessor } from '#application/refund-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { processorFromSettings } from '#commons/processor';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('RefundAtProcessor', refundAtProcessor(paymentsTableFromSettings(), processorFromSettings()));
