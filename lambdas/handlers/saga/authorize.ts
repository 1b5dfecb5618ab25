import { authorize } from '#application/payment-saga';
import { circuitBreakerFromSettings, processorFromSettings } from '#commons/processor';

export const handler = authorize(processorFromSettings(), circuitBreakerFromSettings());
