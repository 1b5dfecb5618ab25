import { logger } from '#commons/powertools';
import { isPaymentId } from '#domain/ids';
import type { Payment } from '#domain/payment';
import type { PaymentsStore } from '#ports/payments-store';
import { PaymentNotVisible } from './errors.ts';

/** A payment of this merchant; another merchant's payment is indistinguishable from a missing one. */
export function getPayment(store: PaymentsStore) {
  return async ({ merchantId, paymentId }: { merchantId: string; paymentId: string | undefined }): Promise<Payment> => {
    if (!paymentId || !isPaymentId(paymentId)) throw new PaymentNotVisible();
    logger.appendKeys({ paymentId });
    const payment = await store.getPayment(paymentId);
    if (!payment || payment.merchantId !== merchantId) throw new PaymentNotVisible();
    return payment;
  };
}
