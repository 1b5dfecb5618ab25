import { authorize } from '#application/payment-saga';
import { processorFromSettings } from '#commons/processor';

export const handler = authorize(processorFromSettings());
