/**
 * `npm run chaos`, test-sized and seeded: the reliability run (tools/reliability/run.ts) over the twin with the
 * chaos fault plan at twice its default rates and a DynamoDB freeze, then DESIGN §6 checked on the tables,
 * queues and the processor's records. Zero violations, and the faults really fired.
 *
 * At time scale 0.2, not the acceptance suite's 0.02: the faults happen in wall time (a 3 s freeze, a loaded
 * machine's slow inits) while the product's retry waits and visibility timeouts are scaled, so at 0.02 a 3 s freeze
 * stands for a 150 s outage and outlasts every retry budget (events dead-lettered, payments not terminal). At 0.2
 * it stands for 15 s, a stall the product is built to ride out (the 1,000-payment `npm run chaos` passes there too).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { CHAOS_ENVIRONMENTS_PER_FUNCTION, chaosPlan, DEFAULT_RATES } from '../../../tools/chaos/plan.ts';
import { chaosTable, violationCount } from '../../../tools/chaos/report.ts';
import { runReliability } from '../../../tools/reliability/run.ts';
import { assemblyWithBreakerShut } from '../../support/breaker.ts';

const SEED = 20261201;

it('40 payments with refunds under throttling, 5xx, latency, timeouts, lost responses, killed functions and a DynamoDB freeze: zero violations', { timeout: 300_000 }, async () => {
  const cdkOut = assemblyWithBreakerShut(inject('cdkOut'));
  const logDir = mkdtempSync(join(tmpdir(), 'payflow-chaos-test-'));
  try {
    const report = await runReliability({
      payments: 40,
      concurrency: 10,
      terminalBoundMs: 120_000,
      deadlineMs: 150_000,
      timeScale: 0.2,
      seed: SEED,
      burstRefunds: 10,
      clientRetries: 10,
      maxEnvironmentsPerFunction: CHAOS_ENVIRONMENTS_PER_FUNCTION,
      faults: chaosPlan(SEED, { ...DEFAULT_RATES, freeze: { everyMs: 20_000, forMs: 3_000 } }, 2),
      cdkOut,
      logFile: join(logDir, 'chaos.log'),
      progress: () => undefined,
    });
    const table = chaosTable(report).join('\n');
    expect(report.checks.filter((check) => check.violations.length > 0), table).toEqual([]);
    expect(violationCount(report)).toBe(0);
    const kinds = new Set(report.faults!.injected.map((fault) => fault.kind));
    for (const kind of ['throttle', 'server-error', 'latency', 'response-lost'] as const) expect(kinds, table).toContain(kind);
    expect(report.clientRequests.payment).toBeGreaterThanOrEqual(40);
  } finally {
    rmSync(cdkOut, { recursive: true, force: true });
    rmSync(logDir, { recursive: true, force: true });
  }
});
