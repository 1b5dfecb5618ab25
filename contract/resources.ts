/**
 * What the API returns for a payment and a refund (DESIGN §2): the public fields, and nothing of storage
 * or processors. The zod schemas describe the same views for the OpenAPI document (contract/openapi.ts);
 * the types below are checked against them, so a field added to one and not the other fails to compile.
 * `requestId` is the id of the API request that created it (the `x-amzn-RequestId` its POST was answered with; a
 * replay keeps the first one's): the id to quote to support and to search the logs by. Absent on older items.
 */
import * as z from 'zod/mini';
import { SUPPORTED_CURRENCIES } from '#domain/money';
import { PAYMENT_STATUSES, type Payment } from '#domain/payment';
import { REFUND_REASONS, REFUND_STATUSES, type Refund } from '#domain/refund';
import { listSchema } from './lists.ts';

const minorUnits = z.int().check(z.minimum(0));
const timestamp = z.iso.datetime();
const metadata = z.record(z.string(), z.string());
const paymentStatus = z.enum(PAYMENT_STATUSES);
z.globalRegistry.add(paymentStatus, {
  description: '`pending` until the saga settles the payment: `succeeded` or `failed`, then `partially_refunded` or `refunded`. `processing` is no longer written: only a payment an earlier version left in flight shows it, until it settles.',
});

export const paymentViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^pay_[0-9a-f]{24}$/)),
  object: z.literal('payment'),
  amount: minorUnits,
  currency: z.enum(SUPPORTED_CURRENCIES),
  status: paymentStatus,
  source: z.string(),
  description: z.optional(z.string()),
  metadata: z.optional(metadata),
  failureCode: z.optional(z.string()),
  requestId: z.optional(z.string()),
  amountCaptured: minorUnits,
  amountRefunded: minorUnits,
  amountRefundable: minorUnits,
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const refundViewSchema = z.strictObject({
  id: z.string().check(z.regex(/^re_[0-9a-f]{24}$/)),
  object: z.literal('refund'),
  paymentId: z.string().check(z.regex(/^pay_[0-9a-f]{24}$/)),
  amount: minorUnits,
  currency: z.enum(SUPPORTED_CURRENCIES),
  status: z.enum(REFUND_STATUSES),
  reason: z.optional(z.enum(REFUND_REASONS)),
  metadata: z.optional(metadata),
  failureCode: z.optional(z.string()),
  requestId: z.optional(z.string()),
  createdAt: timestamp,
  updatedAt: timestamp,
});

export const paymentListSchema = listSchema(paymentViewSchema);
export const refundListSchema = listSchema(refundViewSchema);

export type PaymentView = { object: 'payment' } & Omit<Payment, 'merchantId' | 'authorizationId' | 'requestHash'>;
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : never) : never;
const paymentViewMatches: Same<PaymentView, z.output<typeof paymentViewSchema>> = true;

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
const refundViewMatches: Same<RefundView, z.output<typeof refundViewSchema>> = true;
void paymentViewMatches;
void refundViewMatches;

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
