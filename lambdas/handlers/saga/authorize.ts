import { authorize } from '#application/payment-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { circuitBreakerFromSettings, processorFromSettings } from '#commons/processor';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('Authorize', authorize(paymentsTableFromSettings(), processorFromSettings(), circuitBreakerFromSettings()));
