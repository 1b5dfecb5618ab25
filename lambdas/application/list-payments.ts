import { logger } from '#commons/powertools';
import { isPaymentId } from '#domain/ids';
import type { Payment, PaymentStatus } from '#domain/payment';
import type { Page, PaymentLists, PaymentsStore } from '#ports/payments-store';
import { InvalidCursor } from './errors.ts';

export interface ListPaymentsRequest {
  merchantId: string;
  limit: number;
  /** The id of the last payment of the previous page. */
  startingAfter?: string;
  status?: PaymentStatus;
}

/** A page of the merchant's payments, newest first; the cursor must be one of its own payments. */
export function listPayments(store: PaymentsStore & PaymentLists) {
  return async ({ merchantId, limit, startingAfter, status }: ListPaymentsRequest): Promise<Page<Payment>> => {
    let after: Payment | undefined;
    if (startingAfter !== undefined) {
      after = isPaymentId(startingAfter) ? await store.getPayment(startingAfter) : undefined;
      if (!after || after.merchantId !== merchantId) throw new InvalidCursor();
    }
    const page = await store.listPayments({ merchantId, limit, after, status });
    logger.appendKeys({ listed: page.items.length });
    return page;
  };
}
