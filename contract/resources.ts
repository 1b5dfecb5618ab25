/**
 * What the API returns for a payment and a refund (DESIGN §2): the public fields, and nothing of storage
 * or processors. The zod schemas of the same views, for the OpenAPI document, are in contract/view-schemas.ts,
 * which checks these types against them: a field added to one and not the other fails to compile.
 * `requestId` is the id of the API request that created it (the `x-amzn-RequestId` its POST was answered with; a
 * replay keeps the first one's): the id to quote to support and to search the logs by. Absent on older items.
 */
import type { Payment } from '#domain/payment';
import type { Refund } from '#domain/refund';

export type PaymentView = { object: 'payment' } & Omit<Payment, 'merchantId' | 'authorizationId' | 'requestHash'>;

export function toPaymentView(payment: Payment): PaymentView {
  return {
    id: payment.id,
    object: 'payment',
    amount: payment.amount,
    currency: payment.currency,
    status: payment.status,
    source: payment.source,
    ...(payment.description === undefined ? {} : { description: payment.description }),
    ...(payment.metadata === undefined ? {} : { metadata: payment.metadata }),
    ...(payment.failureCode === undefined ? {} : { failureCode: payment.failureCode }),
    ...(payment.requestId === undefined ? {} : { requestId: payment.requestId }),
    amountCaptured: payment.amountCaptured,
    amountRefunded: payment.amountRefunded,
    amountRefundable: payment.amountRefundable,
    createdAt: payment.createdAt,
    updatedAt: payment.updatedAt,
  };
}

export type RefundView = { object: 'refund' } & Omit<Refund, 'merchantId' | 'requestHash'>;

export function toRefundView(refund: Refund): RefundView {
  return {
    id: refund.id,
    object: 'refund',
    paymentId: refund.paymentId,
    amount: refund.amount,
    currency: refund.currency,
    status: refund.status,
    ...(refund.reason === undefined ? {} : { reason: refund.reason }),
    ...(refund.metadata === undefined ? {} : { metadata: refund.metadata }),
    ...(refund.failureCode === undefined ? {} : { failureCode: refund.failureCode }),
    ...(refund.requestId === undefined ? {} : { requestId: refund.requestId }),
    createdAt: refund.createdAt,
    updatedAt: refund.updatedAt,
  };
}
