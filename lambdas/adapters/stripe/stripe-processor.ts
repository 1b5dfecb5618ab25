/**
 * Stripe behind the processor port (issue 12), with the official `stripe` package:
 *
 * | port | Stripe |
 * | authorize | create a PaymentIntent with `confirm: true, capture_method: 'manual'` (the source is a PaymentMethod id, e.g. `pm_card_visa` in test mode) → its id |
 * | capture | capture the PaymentIntent (`amount_to_capture`) → its latest charge id |
 * | void | cancel the PaymentIntent; without an id (authorize's outcome unknown), cancel whatever PaymentIntent carries the payment's id in its metadata |
 * | refund | create a refund of the charge (or of the payment's PaymentIntent, found by its metadata) |
 *
 * Every call carries the step's idempotency key (`<paymentId>:authorize`, ...) as Stripe's
 * `Idempotency-Key`, so a retried step gets Stripe's recorded answer. Errors map onto the port:
 * card errors are declines (or capture/refund refusals); rate limits, authentication and permission
 * errors are `ProcessorUnavailable` (nothing happened); Stripe's 5xx and connection errors are
 * `ProcessorTimeout` (the outcome is unknown: retry with the same key); an idempotency error is
 * `ProcessorIdempotencyMismatch`; any other invalid request is a refusal of that step.
 *
 * The processor's records, for the daily reconciliation: a day's captures are the PaymentIntents
 * created that day (the authorization's day: Stripe lists by `created`, and a capture follows its
 * authorization within the saga's seconds) that carry a Payflow payment id and are `succeeded`, i.e.
 * captured; `amount_received` is the captured amount and the latest charge's `amount_refunded` what
 * was refunded. A captured PaymentIntent cannot be cancelled, so Stripe never shows one `reversed`:
 * the void that follows an ambiguous capture refunds it in full instead.
 */
import type Stripe from 'stripe';
import {
  CaptureFailed,
  PaymentDeclined,
  ProcessorIdempotencyMismatch,
  ProcessorTimeout,
  ProcessorUnavailable,
  RefundFailed,
  type AuthorizeRequest,
  type CaptureRequest,
  type Page,
  type PaymentProcessor,
  type ProcessorCapture,
  type ProcessorRecords,
  type RefundRequest,
  type VoidRequest,
} from '#ports/processor';
import { dayRange } from '#domain/daily-reconciliation';
import type { Currency } from '#domain/money';

type Step = 'authorize' | 'capture' | 'void' | 'refund';

/** The payment (or refund) id a key names: keys are `<reference>:<operation>`. */
const referenceOf = (key: string) => key.slice(0, Math.max(0, key.lastIndexOf(':'))) || key;
const PAYMENT_METADATA = 'payflow_payment_id';
const LIST_PAGE_SIZE = 100;
/** Retrieves in flight at once when looking captures up one by one (Stripe allows 100 requests per second in live mode). */
const RETRIEVE_CONCURRENCY = 10;
const unixSeconds = (instant: string) => Math.floor(Date.parse(instant) / 1000);

/** A captured PaymentIntent of a Payflow payment as the port's capture, or undefined when it is not one. */
export function captureOfIntent(intent: Stripe.PaymentIntent): ProcessorCapture | undefined {
  const paymentId = intent.metadata?.[PAYMENT_METADATA];
  if (intent.status !== 'succeeded' || !paymentId) return undefined;
  const charge = typeof intent.latest_charge === 'object' && intent.latest_charge ? intent.latest_charge : undefined;
  return {
    paymentId,
    captureId: charge?.id ?? (typeof intent.latest_charge === 'string' ? intent.latest_charge : intent.id),
    authorizationId: intent.id,
    amount: intent.amount_received,
    currency: intent.currency.toUpperCase() as Currency,
    capturedAt: new Date(intent.created * 1000).toISOString(),
    refundedAmount: charge?.amount_refunded ?? 0,
    reversed: false,
  };
}

/** Stripe's error (any StripeError subclass: matched by its `type`, which survives minification) → the port's. */
export function mapStripeError(error: unknown, step: Step): Error {
  const stripeError = error as Partial<Stripe.errors.StripeError> | undefined;
  const type = stripeError?.type;
  const code = stripeError?.decline_code ?? stripeError?.code;
  switch (type) {
    case 'StripeCardError':
      if (step === 'authorize') return new PaymentDeclined(code === 'insufficient_funds' ? 'insufficient_funds' : 'card_declined');
      if (step === 'capture') return new CaptureFailed(stripeError?.code ?? 'capture_failed');
      if (step === 'refund') return new RefundFailed(stripeError?.code ?? 'refund_declined');
      return new ProcessorTimeout(`stripe_card_error_on_void: ${code}`);
    case 'StripeRateLimitError':
    case 'StripeAuthenticationError':
    case 'StripePermissionError':
      return new ProcessorUnavailable(`stripe: ${type}${code ? ` ${code}` : ''}`);
    case 'StripeAPIError':
      // 409: another request with this key is still being processed: nothing decided yet, ask again.
      if (stripeError?.statusCode === 409) return new ProcessorUnavailable(`stripe: ${code ?? 'conflict'}`);
      return new ProcessorTimeout(`stripe: ${type}`);
    case 'StripeConnectionError':
      return new ProcessorTimeout(`stripe: ${type}`);
    case 'StripeIdempotencyError':
      return new ProcessorIdempotencyMismatch(`stripe: ${stripeError?.message ?? 'idempotency key reused with other parameters'}`);
    case 'StripeInvalidRequestError':
      if (code === 'lock_timeout') return new ProcessorUnavailable(`stripe: ${code}`);
      if (step === 'authorize') return new PaymentDeclined('card_declined');
      if (step === 'capture') return new CaptureFailed(code ?? 'capture_failed');
      if (step === 'refund') return new RefundFailed(code ?? 'refund_failed');
      return new ProcessorTimeout(`stripe: void refused ${code ?? ''}`.trim());
    default:
      // Not a Stripe answer at all (a bug, a network stack error): the outcome is unknown.
      return new ProcessorTimeout(`stripe: ${error instanceof Error ? error.name : 'unknown error'}`);
  }
}

export class StripeProcessor implements PaymentProcessor, ProcessorRecords {
  constructor(private readonly stripe: Stripe) {}

  async authorize(request: AuthorizeRequest): Promise<{ authorizationId: string }> {
    const intent = await this.call('authorize', () =>
      this.stripe.paymentIntents.create(
        {
          amount: request.amount,
          currency: request.currency.toLowerCase(),
          payment_method: request.source,
          automatic_payment_methods: { enabled: true, allow_redirects: 'never' },
          capture_method: 'manual',
          confirm: true,
          metadata: { [PAYMENT_METADATA]: referenceOf(request.key) },
        },
        { idempotencyKey: request.key },
      ),
    );
    // Anything but an authorization waiting for its capture (3-D Secure, a failed confirmation) is a decline here.
    if (intent.status !== 'requires_capture') throw new PaymentDeclined('card_declined');
    return { authorizationId: intent.id };
  }

  async capture(request: CaptureRequest): Promise<{ captureId: string }> {
    const intent = await this.call('capture', () =>
      this.stripe.paymentIntents.capture(request.authorizationId, { amount_to_capture: request.amount }, { idempotencyKey: request.key }),
    );
    if (intent.status !== 'succeeded') throw new CaptureFailed(`payment_intent_${intent.status}`);
    const charge = intent.latest_charge;
    return { captureId: typeof charge === 'string' ? charge : (charge?.id ?? intent.id) };
  }

  async void(request: VoidRequest): Promise<{ voided: true }> {
    const ids = request.authorizationId ? [request.authorizationId] : await this.intentsOf(referenceOf(request.key));
    for (const id of ids) {
      try {
        await this.stripe.paymentIntents.cancel(id, {}, { idempotencyKey: `${request.key}:${id}` });
      } catch (error) {
        if ((error as { code?: string }).code !== 'payment_intent_unexpected_state') throw mapStripeError(error, 'void');
        // Already canceled is what a void wants; a captured intent cannot be canceled: refund it in full.
        const intent = await this.call('void', () => this.stripe.paymentIntents.retrieve(id));
        if (intent.status === 'canceled') continue;
        if (intent.status !== 'succeeded') throw mapStripeError(error, 'void');
        await this.call('refund', () => this.stripe.refunds.create({ payment_intent: id }, { idempotencyKey: `${request.key}:${id}:refund` }));
      }
    }
    return { voided: true };
  }

  async refund(request: RefundRequest): Promise<{ refundId: string }> {
    const target = request.captureId?.startsWith('ch_')
      ? { charge: request.captureId }
      : { payment_intent: request.captureId ?? (await this.intentsOf(request.paymentId ?? ''))[0] };
    if (!target.charge && !target.payment_intent) throw new RefundFailed('charge_not_captured');
    const refund = await this.call('refund', () => this.stripe.refunds.create({ ...target, amount: request.amount }, { idempotencyKey: request.key }));
    if (refund.status === 'failed' || refund.status === 'canceled') throw new RefundFailed(refund.failure_reason ?? 'refund_declined');
    return { refundId: refund.id };
  }

  async capturesOfDay(day: string, pageToken?: string): Promise<Page<ProcessorCapture>> {
    const { start, end } = dayRange(day);
    const page = await this.stripe.paymentIntents.list({
      created: { gte: unixSeconds(start), lt: unixSeconds(end) },
      limit: LIST_PAGE_SIZE,
      expand: ['data.latest_charge'],
      ...(pageToken ? { starting_after: pageToken } : {}),
    });
    const last = page.data.at(-1);
    return {
      items: page.data.map(captureOfIntent).filter((capture): capture is ProcessorCapture => capture !== undefined),
      ...(page.has_more && last ? { nextPageToken: last.id } : {}),
    };
  }

  async capturesOf(payments: ReadonlyArray<{ paymentId: string; authorizationId?: string }>): Promise<Map<string, ProcessorCapture>> {
    const found = new Map<string, ProcessorCapture>();
    for (let start = 0; start < payments.length; start += RETRIEVE_CONCURRENCY) {
      await Promise.all(
        payments.slice(start, start + RETRIEVE_CONCURRENCY).map(async ({ paymentId, authorizationId }) => {
          const ids = authorizationId ? [authorizationId] : await this.intentsOf(paymentId);
          for (const id of ids) {
            const capture = captureOfIntent(await this.stripe.paymentIntents.retrieve(id, { expand: ['latest_charge'] }));
            if (capture?.paymentId === paymentId) found.set(paymentId, capture);
          }
        }),
      );
    }
    return found;
  }

  /** PaymentIntents created for a payment (search by metadata; Stripe's search may lag writes by about a minute). */
  private async intentsOf(paymentId: string): Promise<string[]> {
    if (!paymentId) return [];
    const found = await this.call('void', () => this.stripe.paymentIntents.search({ query: `metadata['${PAYMENT_METADATA}']:'${paymentId.replaceAll("'", '')}'` }));
    return found.data.map((intent) => intent.id);
  }

  private async call<T>(step: Step, request: () => Promise<T>): Promise<T> {
    try {
      return await request();
    } catch (error) {
      throw mapStripeError(error, step);
    }
  }
}
