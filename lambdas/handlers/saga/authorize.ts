import { authorize } from '#application/payment-saga';
import { circuitBreakerFromSettings, processorFromSettings } from '#commons/processor';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('Authorize', authorize(processorFromSettings(), circuitBreakerFromSettings()));
