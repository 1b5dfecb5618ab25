import { logger } from '#commons/powertools';
import { isRefundId } from '#domain/ids';
import type { Refund } from '#domain/refund';
import type { PaymentLists } from '#ports/payments-store';
import { RefundNotVisible } from './errors.ts';

/** A refund of this merchant by its id; another merchant's refund is indistinguishable from a missing one. */
export function getRefund(store: PaymentLists) {
  return async ({ merchantId, refundId }: { merchantId: string; refundId: string | undefined }): Promise<Refund> => {
    if (!refundId || !isRefundId(refundId)) throw new RefundNotVisible();
    logger.appendKeys({ refundId });
    const refund = await store.findRefund(refundId);
    if (!refund || refund.merchantId !== merchantId) throw new RefundNotVisible();
    return refund;
  };
}
