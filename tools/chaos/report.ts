/**
 * The chaos run's table — faults injected by kind and boundary, the clients' retries, the outcomes and the
 * invariant violations — and docs/RELIABILITY.md, which keeps it with the seed, the command and the machine.
 */
import { cpus, totalmem, type as osType, release } from 'node:os';
import type { ReliabilityReport } from '../reliability/run.ts';

/** The faults table: one row per kind and boundary, with totals. */
export function faultTable(report: ReliabilityReport): string[] {
  const counts = report.faults?.countsByKindAndBoundary() ?? new Map<string, Map<string, number>>();
  const rows: string[] = [`${'fault kind'.padEnd(16)}${'boundary'.padEnd(34)}count`];
  let total = 0;
  for (const [kind, byBoundary] of [...counts].sort(([a], [b]) => a.localeCompare(b))) {
    for (const [boundary, count] of [...byBoundary].sort(([a], [b]) => a.localeCompare(b))) {
      rows.push(`${kind.padEnd(16)}${boundary.padEnd(34)}${count}`);
      total += count;
    }
  }
  rows.push(`${'total'.padEnd(50)}${total}`);
  return rows;
}

/** Client requests, attempts and retries by operation. */
export function clientTable(report: ReliabilityReport): string[] {
  return Object.keys(report.clientRequests).sort().map((operation) => {
    const requests = report.clientRequests[operation] ?? 0;
    const attempts = report.clientAttempts[operation] ?? 0;
    return `client ${operation.padEnd(10)} ${requests} requests, ${attempts} attempts, ${attempts - requests} retries`;
  });
}

export function violationCount(report: ReliabilityReport): number {
  return report.checks.reduce((total, check) => total + check.violations.length, 0);
}

/** The whole table, as printed and as written. */
export function chaosTable(report: ReliabilityReport): string[] {
  return [
    ...faultTable(report),
    '',
    ...clientTable(report),
    '',
    ...report.lines,
    '',
    `violations: ${violationCount(report)}`,
  ];
}

export function machine(): string {
  const cores = cpus();
  return `${osType()} ${release()}, ${cores.length} × ${cores[0]?.model.trim() ?? 'unknown CPU'}, ${(totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}`;
}

/** docs/RELIABILITY.md: the run with its seed, command and machine, and how to replay it. */
export function reliabilityDocument(report: ReliabilityReport, run: { command: string; seed: number; startedAt: Date }): string {
  return `# Reliability under faults

Written by \`npm run chaos\` (tools/chaos/chaos.ts); the README's "Reliability under faults" section says
what the run does. Replay this run with the command below: the seed decides the load (tokens, amounts,
keys, duplicates, refunds) and which calls meet which fault (see tools/local-runner/faults/plan.ts).

| | |
|---|---|
| command | \`${run.command}\` |
| seed | ${run.seed} |
| started | ${run.startedAt.toISOString()} |
| duration | ${(report.durationMs / 1000).toFixed(0)} s |
| machine | ${machine()} |
| result | ${report.failed ? `**FAILED** — ${violationCount(report)} violation(s)` : 'passed — 0 violations'} |

\`\`\`
${chaosTable(report).join('\n')}
\`\`\`
`;
}
