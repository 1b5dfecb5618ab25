import { describe, expect, it } from 'vitest';
import { ProcessorCircuitBreaker } from '../../lambdas/application/circuit-breaker.ts';
import { CircuitBreakerTable } from '../../lambdas/adapters/dynamodb/circuit-breaker-table.ts';
import { circuitPosition, type CircuitBreakerPolicy } from '../../lambdas/domain/circuit-breaker.ts';
import { PaymentDeclined, ProcessorTimeout, ProcessorUnavailable } from '../../lambdas/ports/processor.ts';
import { createTestTables, documentClient } from '../support/aws.ts';

// The breaker's use case on its DynamoDB adapter, on DynamoDB Local, with a clock the test moves.
const POLICY: CircuitBreakerPolicy = { failureThreshold: 3, windowSeconds: 60, openSeconds: 30, probeLeaseSeconds: 30 };

/** A breaker on a table of its own (the breaker has one item per table), with a clock the test moves. */
async function freshBreaker(startMs = Date.UTC(2026, 0, 1, 12, 0, 0)) {
  const tables = await createTestTables();
  const store = new CircuitBreakerTable(tables.CIRCUIT_BREAKER_TABLE_NAME!, documentClient());
  const clock = { nowMs: startMs };
  const breaker = new ProcessorCircuitBreaker(store, POLICY, () => clock.nowMs);
  return { store, clock, breaker };
}

const unavailable = async (): Promise<never> => {
  throw new ProcessorUnavailable();
};

describe('closed', () => {
  it('passes calls and their errors through until the threshold; the failure that reaches it opens the breaker (CircuitOpen)', async () => {
    const { breaker, store, clock } = await freshBreaker();
    expect(await breaker.admit(async () => 'ok')).toBe('ok');
    await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'ProcessorUnavailable' });
    await expect(breaker.admit(async () => { throw new ProcessorTimeout(); })).rejects.toMatchObject({ name: 'ProcessorTimeout' });
    // A decline is an answer, not a failure.
    await expect(breaker.admit(async () => { throw new PaymentDeclined('card_declined'); })).rejects.toMatchObject({ name: 'PaymentDeclined' });
    await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'CircuitOpen' });
    expect(circuitPosition(await store.read(), clock.nowMs)).toBe('open');
  });

  it('counts failures per window: failures a window apart do not add up', async () => {
    const { breaker, store, clock } = await freshBreaker();
    for (let i = 0; i < 4; i++) {
      await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'ProcessorUnavailable' });
      if (i % 2 === 1) clock.nowMs += 60_000;
    }
    expect(circuitPosition(await store.read(), clock.nowMs)).toBe('closed');
  });

  it('a breaker whose table cannot be read lets calls through (it never stops payments by itself)', async () => {
    const breaker = new ProcessorCircuitBreaker(new CircuitBreakerTable('missing-breaker-table', documentClient()), POLICY);
    expect(await breaker.admit(async () => 'ok')).toBe('ok');
    await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'ProcessorUnavailable' });
  });
});

describe('open, then half-open', () => {
  const opened = async () => {
    const fresh = await freshBreaker();
    for (let i = 0; i < POLICY.failureThreshold; i++) await fresh.breaker.admit(unavailable).catch(() => undefined);
    return fresh;
  };

  it('while open, fails fast without calling the processor', async () => {
    const { breaker, clock } = await opened();
    clock.nowMs += 29_000;
    let calls = 0;
    await expect(breaker.admit(async () => ++calls)).rejects.toMatchObject({ name: 'CircuitOpen' });
    expect(calls).toBe(0);
  });

  it('half-open: of 20 concurrent calls exactly one is the probe (a conditional write); its success closes the breaker, a new generation', async () => {
    const { breaker, store, clock } = await opened();
    clock.nowMs += 30_000;
    let calls = 0;
    const outcomes = await Promise.allSettled(
      Array.from({ length: 20 }, () =>
        breaker.admit(async () => {
          calls++;
          await new Promise((resolve) => setTimeout(resolve, 50));
          return 'authorized';
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(outcomes.filter((outcome) => outcome.status === 'fulfilled')).toHaveLength(1);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason.name)).toEqual(Array(19).fill('CircuitOpen'));
    const state = await store.read();
    expect(state).toEqual({ generation: 1 });
    // Closed, and the failures of the old generation no longer count: one failure does not reopen it.
    await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'ProcessorUnavailable' });
    expect(circuitPosition(await store.read(), clock.nowMs)).toBe('closed');
  });

  it('a probe that fails opens the breaker again (the payment waits: CircuitOpen); a probe that is declined closes it', async () => {
    const { breaker, store, clock } = await opened();
    clock.nowMs += 30_000;
    await expect(breaker.admit(unavailable)).rejects.toMatchObject({ name: 'CircuitOpen', message: expect.stringContaining('probe_failed') });
    expect(await store.read()).toMatchObject({ openedUntil: clock.nowMs + 30_000 });
    expect(circuitPosition(await store.read(), clock.nowMs)).toBe('open');

    clock.nowMs += 30_000;
    await expect(breaker.admit(async () => { throw new PaymentDeclined('insufficient_funds'); })).rejects.toMatchObject({ name: 'PaymentDeclined' });
    expect(circuitPosition(await store.read(), clock.nowMs)).toBe('closed');
  });

  it('a probe whose function died is taken over once its lease expires', async () => {
    const { breaker, store, clock } = await opened();
    clock.nowMs += 30_000;
    const state = await store.read();
    expect(await store.claimProbe({ openedUntil: state.openedUntil!, probeUntil: clock.nowMs + 30_000, nowMs: clock.nowMs })).toBe(true);
    await expect(breaker.admit(async () => 'ok')).rejects.toMatchObject({ name: 'CircuitOpen' });
    clock.nowMs += 30_000;
    expect(await breaker.admit(async () => 'ok')).toBe('ok');
  });
});
