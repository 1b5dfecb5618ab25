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
  type PaymentProcessor,
  type RefundRequest,
  type VoidRequest,
} from '#ports/processor';

type Step = 'authorize' | 'capture' | 'void' | 'refund';

/** The payment (or refund) id a key names: keys are `<reference>:<operation>`. */
const referenceOf = (key: string) => key.slice(0, Math.max(0, key.lastIndexOf(':'))) || key;
const PAYMENT_METADATA = 'payflow_payment_id';

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

export class StripeProcessor implements PaymentProcessor {
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
