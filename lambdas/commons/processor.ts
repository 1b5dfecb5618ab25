import { ProcessorCircuitBreaker, type CircuitBreaker } from '#application/circuit-breaker';
import { CircuitBreakerTable } from '#adapters/dynamodb/circuit-breaker-table';
import { SimulatedProcessor } from '#adapters/simulated-processor';
import { documentClient } from '#commons/dynamodb';
import { numberSetting, setting } from '#commons/environment';
import { DEFAULT_CIRCUIT_BREAKER_POLICY as DEFAULTS } from '#domain/circuit-breaker';
import type { PaymentProcessor, ProcessorRecords } from '#ports/processor';

type Processor = PaymentProcessor & ProcessorRecords;

/**
 * The processor behind the port, chosen in this one place: the simulated one (DESIGN §5) on its own
 * table, or Stripe. PAYFLOW_PROCESSOR is replaced at bundle time (the construct's esbuild `define`,
 * from `payflow:processor`), so the bundler drops the branch a stack does not use, and with it the
 * Stripe SDK from every simulated stack's bundles; unbundled (the tests) it reads the environment.
 */
export function processorFromSettings(): Processor {
  if (process.env.PAYFLOW_PROCESSOR === 'stripe') {
    const secretArn = setting('stripeSecretArn');
    // Loaded once per container, on first use; a failed load (the secret unreachable) is retried by the next call.
    let loading: Promise<Processor> | undefined;
    const processor = () =>
      (loading ??= import('#commons/stripe')
        .then(({ stripeProcessor }) => stripeProcessor(secretArn))
        .catch((error: unknown) => {
          loading = undefined;
          throw error;
        }));
    return {
      authorize: async (request) => (await processor()).authorize(request),
      capture: async (request) => (await processor()).capture(request),
      void: async (request) => (await processor()).void(request),
      refund: async (request) => (await processor()).refund(request),
      capturesOfDay: async (day, pageToken) => (await processor()).capturesOfDay(day, pageToken),
      capturesOf: async (payments) => (await processor()).capturesOf(payments),
    };
  }
  return new SimulatedProcessor({ tableName: setting('processorTable'), client: documentClient });
}

/** The processor's circuit breaker, shared by every saga execution through its table. */
export const circuitBreakerFromSettings = (): CircuitBreaker =>
  new ProcessorCircuitBreaker(new CircuitBreakerTable(setting('circuitBreakerTable'), documentClient), {
    failureThreshold: numberSetting('breakerFailureThreshold', DEFAULTS.failureThreshold),
    windowSeconds: numberSetting('breakerWindowSeconds', DEFAULTS.windowSeconds),
    openSeconds: numberSetting('breakerOpenSeconds', DEFAULTS.openSeconds),
    probeLeaseSeconds: DEFAULTS.probeLeaseSeconds,
  });
