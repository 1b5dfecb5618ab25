import { capture } from '#application/payment-saga';
import { processorFromSettings } from '#commons/processor';

export const handler = capture(processorFromSettings());
