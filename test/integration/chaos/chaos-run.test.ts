/**
 * `npm run chaos`, test-sized and seeded: the reliability run (tools/reliability/run.ts) over the twin with the
 * chaos fault plan at twice its default rates and a DynamoDB freeze, then DESIGN §6 checked on the tables,
 * queues and the processor's records. Zero violations, and the faults really fired.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, inject, it } from 'vitest';
import { chaosPlan, DEFAULT_RATES } from '../../../tools/chaos/plan.ts';
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
      timeScale: 0.02,
      seed: SEED,
      burstRefunds: 10,
      clientRetries: 10,
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
