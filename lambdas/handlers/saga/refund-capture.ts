import { refundCapture } from '#application/payment-saga';
import { processorFromSettings } from '#commons/processor';

export const handler = refundCapture(processorFromSettings());
