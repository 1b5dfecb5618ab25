/**
 * The processor's circuit breaker, as pure decisions (no storage): one breaker shared by every saga
 * execution. Failures are counted per fixed window; at `failureThreshold` failures in one window the
 * breaker opens until `openedUntil`; after that it is half-open: exactly one call (the probe, claimed
 * by a conditional write) may reach the processor. The probe's success closes the breaker (a new
 * generation, so the failures counted before it no longer count); its failure opens it again.
 */

export interface CircuitBreakerPolicy {
  /** Failures in one window that open the breaker (seed: 10). */
  readonly failureThreshold: number;
  /** The window failures are counted in, seconds (seed: 60). */
  readonly windowSeconds: number;
  /** How long the breaker stays open before a probe may go through, seconds. */
  readonly openSeconds: number;
  /** How long a claimed probe keeps others out, seconds (longer than one processor call with its function's timeout). */
  readonly probeLeaseSeconds: number;
}

export const DEFAULT_CIRCUIT_BREAKER_POLICY: CircuitBreakerPolicy = {
  failureThreshold: 10,
  windowSeconds: 60,
  openSeconds: 30,
  probeLeaseSeconds: 30,
};

/** The shared state: open while `openedUntil` is in the future, half-open after, closed when absent. */
export interface CircuitBreakerState {
  /** Bumped each time the breaker closes: failures are counted per generation and window. */
  readonly generation: number;
  /** Epoch ms; absent while closed. */
  readonly openedUntil?: number;
  /** Epoch ms until which a claimed probe keeps other calls out (half-open only). */
  readonly probeUntil?: number;
}

export type CircuitPosition = 'closed' | 'open' | 'half-open';

export const CLOSED: CircuitBreakerState = { generation: 0 };

export function circuitPosition(state: CircuitBreakerState, nowMs: number): CircuitPosition {
  if (state.openedUntil === undefined) return 'closed';
  return nowMs < state.openedUntil ? 'open' : 'half-open';
}

/** The metric value of a position: 0 closed, 1 half-open, 2 open (an alarm fires at 2). */
export const CIRCUIT_POSITION_VALUE: Record<CircuitPosition, number> = { closed: 0, 'half-open': 1, open: 2 };

/** The fixed window `nowMs` falls in: its start, epoch ms. */
export const failureWindowStart = (policy: CircuitBreakerPolicy, nowMs: number) => nowMs - (nowMs % (policy.windowSeconds * 1000));

/** A half-open breaker's probe may be claimed when no other probe holds a lease. */
export const probeAvailable = (state: CircuitBreakerState, nowMs: number) =>
  circuitPosition(state, nowMs) === 'half-open' && (state.probeUntil === undefined || state.probeUntil <= nowMs);

/**
 * The breaker is open (or half-open with the probe taken): no authorization was attempted. The
 * payment waits — nothing authorized — and the saga tries again on the breaker's schedule.
 * `name` is a literal: Step Functions matches it, and minified bundles rename classes.
 */
export class CircuitOpen extends Error {
  override readonly name = 'CircuitOpen';
  constructor(message = 'processor_circuit_open') {
    super(message);
  }
}
