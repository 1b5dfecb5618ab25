import { voidAuthorization } from '#application/payment-saga';
import { processorFromSettings } from '#commons/processor';

export const handler = voidAuthorization(processorFromSettings());
