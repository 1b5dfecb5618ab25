import { voidAuthorization } from '#application/payment-saga';
import { paymentsTableFromSettings } from '#adapters/dynamodb/payments-table';
import { processorFromSettings } from '#commons/processor';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('VoidAuthorization', voidAuthorization(processorFromSettings(), paymentsTableFromSettings()));
