/**
 * The processor's circuit breaker (issue 12): authorizations go through `admit`, which fails fast with
 * CircuitOpen while the breaker is open, lets exactly one probe through when it is half-open, and
 * feeds the breaker with the outcome. Only transient failures (the processor did not answer, or its
 * answer was lost) count; a decline is an answer, so it closes a half-open breaker like a success.
 *
 * The breaker never stops a payment because of its own storage: if its state cannot be read, the call
 * goes through as if it were closed, and failing to record an outcome is logged and ignored.
 */
import { logger, metrics } from '#commons/powertools';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import {
  CIRCUIT_POSITION_VALUE,
  CLOSED,
  CircuitOpen,
  circuitPosition,
  failureWindowStart,
  probeAvailable,
  type CircuitBreakerPolicy,
  type CircuitBreakerState,
  type CircuitPosition,
} from '#domain/circuit-breaker';
import { RETRYABLE_PROCESSOR_ERRORS } from '#domain/saga';
import type { CircuitBreakerStore } from '#ports/circuit-breaker';

export const CIRCUIT_STATE_METRIC = 'ProcessorCircuitState';
export const CIRCUIT_OPENED_METRIC = 'ProcessorCircuitOpened';
export const CIRCUIT_REJECTED_METRIC = 'ProcessorCircuitRejected';

const isTransient = (error: unknown) => error instanceof Error && (RETRYABLE_PROCESSOR_ERRORS as readonly string[]).includes(error.name);

export interface CircuitBreaker {
  /** Runs `call` unless the breaker is open; throws CircuitOpen when it did not run it (or the probe failed). */
  admit<T>(call: () => Promise<T>): Promise<T>;
}

export class ProcessorCircuitBreaker implements CircuitBreaker {
  constructor(
    private readonly store: CircuitBreakerStore,
    private readonly policy: CircuitBreakerPolicy,
    private readonly now: () => number = Date.now,
  ) {}

  async admit<T>(call: () => Promise<T>): Promise<T> {
    const state = await this.readOrClosed();
    const position = circuitPosition(state, this.now());
    this.signal(position);
    if (position === 'open') return this.reject(position);
    if (position === 'half-open') return this.probe(state, call);
    try {
      return await call();
    } catch (error) {
      if (isTransient(error) && (await this.countFailure(state))) throw new CircuitOpen(`processor_circuit_opened: ${(error as Error).name}`);
      throw error;
    }
  }

  private async probe<T>(state: CircuitBreakerState, call: () => Promise<T>): Promise<T> {
    const openedUntil = state.openedUntil!;
    const nowMs = this.now();
    const claimed = probeAvailable(state, nowMs) && (await this.quietly('claim the probe', () => this.store.claimProbe({ openedUntil, probeUntil: nowMs + this.policy.probeLeaseSeconds * 1000, nowMs }), false));
    if (!claimed) return this.reject('half-open');
    logger.info('Circuit breaker half-open: probing the processor');
    let result: T;
    try {
      result = await call();
    } catch (error) {
      if (!isTransient(error)) {
        await this.close(openedUntil);
        throw error;
      }
      await this.quietly('reopen', () => this.store.reopen({ openedUntil, reopenedUntil: this.now() + this.policy.openSeconds * 1000 }), undefined);
      logger.warn('Circuit breaker probe failed: open again', { error: (error as Error).name, openSeconds: this.policy.openSeconds });
      this.signal('open');
      throw new CircuitOpen(`processor_circuit_probe_failed: ${(error as Error).name}`);
    }
    await this.close(openedUntil);
    return result;
  }

  private async close(openedUntil: number): Promise<void> {
    await this.quietly('close', () => this.store.close({ openedUntil }), undefined);
    logger.info('Circuit breaker closed: the processor answered the probe');
    this.signal('closed');
  }

  /** Records a failure; true when the breaker is open now (this failure opened it, or someone else did). */
  private async countFailure(state: CircuitBreakerState): Promise<boolean> {
    const nowMs = this.now();
    const windowStart = failureWindowStart(this.policy, nowMs);
    const failures = await this.quietly(
      'record a failure',
      () => this.store.recordFailure({ generation: state.generation, windowStart, expiresAtMs: windowStart + 2 * this.policy.windowSeconds * 1000 }),
      0,
    );
    if (failures < this.policy.failureThreshold) return false;
    const opened = await this.quietly('open', () => this.store.open({ generation: state.generation, openedUntil: nowMs + this.policy.openSeconds * 1000 }), false);
    if (opened) {
      logger.error('Circuit breaker opened: authorizations wait until a probe succeeds', { failures, windowSeconds: this.policy.windowSeconds, openSeconds: this.policy.openSeconds });
      metrics.addMetric(CIRCUIT_OPENED_METRIC, MetricUnit.Count, 1);
      this.signal('open');
    }
    return true;
  }

  private reject(position: CircuitPosition): never {
    metrics.addMetric(CIRCUIT_REJECTED_METRIC, MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
    throw new CircuitOpen(position === 'open' ? 'processor_circuit_open' : 'processor_circuit_probing');
  }

  /** The breaker's position as a gauge (0 closed, 1 half-open, 2 open), published at once. */
  private signal(position: CircuitPosition): void {
    metrics.addMetric(CIRCUIT_STATE_METRIC, MetricUnit.Count, CIRCUIT_POSITION_VALUE[position]);
    metrics.publishStoredMetrics();
  }

  private async readOrClosed(): Promise<CircuitBreakerState> {
    return this.quietly('read its state', () => this.store.read(), CLOSED);
  }

  private async quietly<T>(what: string, action: () => Promise<T>, fallback: T): Promise<T> {
    try {
      return await action();
    } catch (error) {
      logger.warn(`Circuit breaker could not ${what}; going on without it`, { error: error instanceof Error ? error.name : String(error) });
      return fallback;
    }
  }
}
