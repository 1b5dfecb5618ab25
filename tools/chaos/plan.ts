/**
 * The chaos run's fault plan: AWS's fault model (DESIGN §6) at every boundary the functions and state
 * machines cross — DynamoDB (the Payments, idempotency, circuit-breaker and the simulated processor's
 * tables), SQS (the events queue, the DLQs, the pollers' receives and deletes) and Step Functions
 * (StartExecution) — at rates per call, plus periodic DynamoDB freezes (every call held until the freeze
 * ends, as a SIGSTOPped server holds them; applied late when the caller has given up).
 */
import type { FaultPlan, FaultRule } from '../local-runner/faults/plan.ts';

export interface ChaosRates {
  throttle: number;
  serverError: number;
  latency: number;
  timeout: number;
  responseLost: number;
  /** Each of kill-before and kill-after, per call a function makes. */
  kill: number;
  /** DynamoDB freezes: `forMs` out of every `everyMs` (0: none). */
  freeze: { everyMs: number; forMs: number };
}

/**
 * Chaos runs give each function Lambda's default 10 execution environments instead of the twin's cap (2× the cores):
 * during a freeze or after a killed environment Lambda starts more, and with 4 a retried request could find its key
 * still in progress until the client's retries ran out (409 idempotency_key_in_use, seen once in the test-sized run).
 */
export const CHAOS_ENVIRONMENTS_PER_FUNCTION = 10;

export const DEFAULT_RATES: ChaosRates = {
  throttle: 0.02,
  serverError: 0.01,
  latency: 0.02,
  timeout: 0.003,
  responseLost: 0.01,
  kill: 0.002,
  freeze: { everyMs: 45_000, forMs: 5_000 },
};

const SERVICES = ['dynamodb', 'sqs', 'states'] as const;

/** The rules for `rates`, each rate multiplied by `scale`. */
export function chaosPlan(seed: number, rates: ChaosRates = DEFAULT_RATES, scale = 1): FaultPlan {
  const rate = (value: number) => Math.min(1, value * scale);
  const rules: FaultRule[] = [
    { kind: 'throttle', rate: rate(rates.throttle), services: SERVICES },
    { kind: 'server-error', rate: rate(rates.serverError), services: SERVICES },
    { kind: 'latency', rate: rate(rates.latency), services: SERVICES, delayMs: [50, 1_500] },
    // Held past the functions' SDK request timeout (2 s), then applied: the caller saw a timeout.
    { kind: 'timeout', rate: rate(rates.timeout), services: SERVICES, delayMs: [3_000, 6_000] },
    // Applied, answer lost: DynamoDB writes and transactions (the processor's included), SQS sends and deletes, StartExecution.
    { kind: 'response-lost', rate: rate(rates.responseLost), services: SERVICES },
    { kind: 'kill-before', rate: rate(rates.kill), services: SERVICES },
    { kind: 'kill-after', rate: rate(rates.kill), services: SERVICES },
  ];
  if (rates.freeze.forMs > 0) {
    // First freeze a quarter of the period in, while the load runs.
    rules.unshift({ kind: 'latency', rate: 1, services: ['dynamodb'], bursts: { ...rates.freeze, startMs: Math.round(rates.freeze.everyMs / 4) } });
  }
  return { seed, rules: rules.filter((rule) => rule.rate > 0) };
}
