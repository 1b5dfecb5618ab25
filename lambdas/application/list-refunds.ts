import { isPaymentId, isRefundId } from '#domain/ids';
import type { Refund } from '#domain/refund';
import type { Page, PaymentLists, PaymentsStore } from '#ports/payments-store';
import { InvalidCursor, PaymentNotVisible } from './errors.ts';

export interface ListRefundsRequest {
  merchantId: string;
  paymentId: string | undefined;
  limit: number;
  /** The id of the last refund of the previous page. */
  startingAfter?: string;
}

/** A page of the refunds of one of the merchant's payments, newest first. Another merchant's payment is a 404. */
export function listRefunds(store: PaymentsStore & PaymentLists) {
  return async ({ merchantId, paymentId, limit, startingAfter }: ListRefundsRequest): Promise<Page<Refund>> => {
    if (!paymentId || !isPaymentId(paymentId)) throw new PaymentNotVisible();
    const payment = await store.getPayment(paymentId);
    if (!payment || payment.merchantId !== merchantId) throw new PaymentNotVisible();
    let after: Refund | undefined;
    if (startingAfter !== undefined) {
      after = isRefundId(startingAfter) ? await store.getRefund(paymentId, startingAfter) : undefined;
      if (!after) throw new InvalidCursor();
    }
    return store.listRefunds({ paymentId, limit, after });
  };
}
