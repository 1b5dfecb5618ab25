/**
 * Stripe behind the port, for a stack built with `payflow:processor=stripe` only: commons/processor.ts
 * imports this module in a branch that the bundler drops from every other stack's functions.
 *
 * The secret key comes from Secrets Manager through the AWS Parameters and Secrets Lambda Extension
 * (a layer the construct adds: it answers on localhost with the function's own credentials), once
 * per container; it is never logged, and an error names the HTTP status only.
 */
import Stripe from 'stripe';
import { StripeProcessor } from '#adapters/stripe/stripe-processor';
import { ProcessorUnavailable } from '#ports/processor';

const EXTENSION_PORT = process.env.PARAMETERS_SECRETS_EXTENSION_HTTP_PORT ?? '2773';
/** Stripe's own timeout per request; the saga's task timeouts and retries stay in charge. */
const STRIPE_TIMEOUT_MS = 8_000;

async function secretKey(secretArn: string): Promise<string> {
  const response = await fetch(`http://localhost:${EXTENSION_PORT}/secretsmanager/get?secretId=${encodeURIComponent(secretArn)}`, {
    headers: { 'X-Aws-Parameters-Secrets-Token': process.env.AWS_SESSION_TOKEN ?? '' },
  });
  if (!response.ok) throw new ProcessorUnavailable(`stripe secret unavailable: HTTP ${response.status}`);
  const { SecretString } = (await response.json()) as { SecretString?: string };
  const key = SecretString?.trim();
  if (!key?.startsWith('sk_') && !key?.startsWith('rk_')) throw new ProcessorUnavailable('stripe secret is not a Stripe secret or restricted key');
  return key;
}

export async function stripeProcessor(secretArn: string): Promise<StripeProcessor> {
  return new StripeProcessor(new Stripe(await secretKey(secretArn), { maxNetworkRetries: 0, timeout: STRIPE_TIMEOUT_MS }));
}
