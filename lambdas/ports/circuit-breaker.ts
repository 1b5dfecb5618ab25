import type { CircuitBreakerState } from '#domain/circuit-breaker';

/** Where the processor's circuit breaker keeps its shared state (one breaker, all saga executions). */
export interface CircuitBreakerStore {
  /** The current state (closed when nothing is stored). */
  read(): Promise<CircuitBreakerState>;
  /** Adds one failure to the window of this generation; returns the window's count so far. */
  recordFailure(input: { generation: number; windowStart: number; expiresAtMs: number }): Promise<number>;
  /** Opens a closed breaker of this generation; false when it was already open (someone else opened it). */
  open(input: { generation: number; openedUntil: number }): Promise<boolean>;
  /** Claims the half-open probe; false when another call holds it or the breaker moved on. */
  claimProbe(input: { openedUntil: number; probeUntil: number; nowMs: number }): Promise<boolean>;
  /** The probe failed: open again until `reopenedUntil`, if the breaker is still the one the probe was claimed on. */
  reopen(input: { openedUntil: number; reopenedUntil: number }): Promise<void>;
  /** The probe succeeded: closed, next generation, if the breaker is still the one the probe was claimed on. */
  close(input: { openedUntil: number }): Promise<void>;
}
