import { capture } from '#application/payment-saga';
import { processorFromSettings } from '#commons/processor';
import { sagaTaskHandler } from '#commons/correlation';

export const handler = sagaTaskHandler('Capture', capture(processorFromSettings()));
