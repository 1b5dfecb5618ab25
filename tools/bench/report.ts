/** docs/BENCHMARKS.md and its chart, from one `npm run bench` run. */
import { writeFileSync } from 'node:fs';
import type { FlowResults } from './flow.ts';

const CHART_WIDTH = 50;

/** One line per offered load: p50 and p99 time to terminal as bars, on one scale. */
export function latencyVersusLoadText(flow: FlowResults): string[] {
  const max = Math.max(1, ...flow.loads.map((load) => load.p99Ms));
  const bar = (ms: number, char: string) => char.repeat(Math.max(1, Math.round((ms / max) * CHART_WIDTH)));
  const lines: string[] = [];
  for (const load of flow.loads) {
    const label = `${String(load.offeredPerSecond).padStart(4)}/s offered, ${load.sustainedPerSecond.toFixed(1).padStart(5)}/s succeeded`;
    lines.push(`  ${label} │${bar(load.p50Ms, '▆')} p50 ${load.p50Ms.toFixed(0)} ms`);
    lines.push(`  ${' '.repeat(label.length)} │${bar(load.p99Ms, '▒')} p99 ${load.p99Ms.toFixed(0)} ms`);
  }
  lines.push(`  ${' '.repeat(38)} └${'─'.repeat(CHART_WIDTH)} 0–${max.toFixed(0)} ms`);
  return lines;
}

/** Time to terminal (p50, p99) against sustained payments/s, with the implied limit and its half as lines. */
export function latencyVersusLoadSvg(flow: FlowResults): string {
  const width = 640;
  const height = 360;
  const left = 70;
  const bottom = 50;
  const top = 40;
  const right = 20;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const xMax = Math.max(flow.limitPerSecond, ...flow.loads.map((l) => Math.max(l.offeredPerSecond, l.sustainedPerSecond))) * 1.05;
  const yMax = Math.max(1, ...flow.loads.map((l) => l.p99Ms)) * 1.1;
  const x = (v: number) => left + (v / xMax) * plotW;
  const y = (v: number) => top + plotH - (v / yMax) * plotH;
  const points = (key: 'p50Ms' | 'p99Ms') => flow.loads.map((l) => `${x(l.sustainedPerSecond).toFixed(1)},${y(l[key]).toFixed(1)}`).join(' ');
  const ticks = 5;
  const xTicks = Array.from({ length: ticks + 1 }, (_, i) => (xMax * i) / ticks);
  const yTicks = Array.from({ length: ticks + 1 }, (_, i) => (yMax * i) / ticks);
  const text = (tx: number, ty: number, body: string, anchor = 'middle') => `<text x="${tx.toFixed(1)}" y="${ty.toFixed(1)}" text-anchor="${anchor}">${body}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">
<title>Time to terminal versus sustained load on the twin (npm run bench)</title>
<rect width="${width}" height="${height}" fill="white"/>
${text(width / 2, 20, 'Time to succeeded vs payments/s reaching succeeded (twin, npm run bench)')}
<line x1="${left}" y1="${top + plotH}" x2="${left + plotW}" y2="${top + plotH}" stroke="black"/>
<line x1="${left}" y1="${top}" x2="${left}" y2="${top + plotH}" stroke="black"/>
${xTicks.map((v) => `${text(x(v), top + plotH + 16, v.toFixed(1))}<line x1="${x(v).toFixed(1)}" y1="${top + plotH}" x2="${x(v).toFixed(1)}" y2="${top + plotH + 4}" stroke="black"/>`).join('\n')}
${yTicks.map((v) => `${text(left - 6, y(v) + 4, v.toFixed(0), 'end')}<line x1="${left}" y1="${y(v).toFixed(1)}" x2="${left + plotW}" y2="${y(v).toFixed(1)}" stroke="#ddd"/>`).join('\n')}
${text(left + plotW / 2, height - 12, 'payments/s reaching succeeded (sustained)')}
<text x="16" y="${top + plotH / 2}" text-anchor="middle" transform="rotate(-90 16 ${top + plotH / 2})">time to terminal, ms</text>
<line x1="${x(flow.limitPerSecond).toFixed(1)}" y1="${top}" x2="${x(flow.limitPerSecond).toFixed(1)}" y2="${top + plotH}" stroke="#888" stroke-dasharray="6 4"/>
${text(x(flow.limitPerSecond) - 4, top + 12, `implied limit ${flow.limitPerSecond.toFixed(1)}/s`, 'end')}
<line x1="${x(flow.limitPerSecond / 2).toFixed(1)}" y1="${top}" x2="${x(flow.limitPerSecond / 2).toFixed(1)}" y2="${top + plotH}" stroke="#888" stroke-dasharray="2 4"/>
${text(x(flow.limitPerSecond / 2) - 4, top + 26, 'goal: half of it', 'end')}
<polyline points="${points('p99Ms')}" fill="none" stroke="#b35806" stroke-width="2" stroke-dasharray="5 3"/>
<polyline points="${points('p50Ms')}" fill="none" stroke="#2166ac" stroke-width="2"/>
${flow.loads.map((l) => `<circle cx="${x(l.sustainedPerSecond).toFixed(1)}" cy="${y(l.p50Ms).toFixed(1)}" r="3.5" fill="#2166ac"/><rect x="${(x(l.sustainedPerSecond) - 3.5).toFixed(1)}" y="${(y(l.p99Ms) - 3.5).toFixed(1)}" width="7" height="7" fill="#b35806"/>`).join('\n')}
<circle cx="${left + 14}" cy="${top + 10}" r="3.5" fill="#2166ac"/>${text(left + 24, top + 14, 'p50 (solid)', 'start')}
<rect x="${left + 10.5}" y="${top + 24.5}" width="7" height="7" fill="#b35806"/>${text(left + 24, top + 32, 'p99 (dashed)', 'start')}
</svg>
`;
}

export interface BenchmarksDoc {
  printed: string[];
  seconds: number;
  machine: string;
  loadBefore: number[];
  loadAfter: number[];
  importRatios: { min: number; max: number; minimalMs: number; platformMin: number; platformMax: number };
  flow: FlowResults;
  /** Without the simulated processor's records. */
  writeUnits: number;
  allWriteUnits: number;
  transitions: number;
  /** Billed Standard transitions of each saga path (happy, declined, capture failure, ledger refused, late start). */
  transitionsByPath: Array<{ path: string; transitions: number }>;
}

export function writeBenchmarksDoc(file: string, doc: BenchmarksDoc): void {
  const { flow } = doc;
  const best = flow.loads.reduce((a, b) => (b.sustainedPerSecond > a.sustainedPerSecond ? b : a), flow.loads[0]!);
  const warmP50 = [...flow.single.warmMs].sort((a, b) => a - b)[Math.floor(flow.single.warmMs.length / 2)]!;
  const load = (l: number[]) => l.map((v) => v.toFixed(2)).join(', ');
  const verdict = (ok: boolean) => (ok ? 'within' : '**over**');
  const text = `# Benchmarks

Written by \`npm run bench\` (tools/bench/) — do not edit by hand; run it again.

- **Date**: ${new Date().toISOString().replace(/\.\d+Z$/, 'Z')}
- **Machine**: ${doc.machine}
- **Command**: \`npm run bench\` (the whole run: ${doc.seconds.toFixed(0)} s; budget 10 min on 2 cores)
- **Conditions**: load average ${load(doc.loadBefore)} before, ${load(doc.loadAfter)} after (1, 5, 15 min). The machine is shared:
  wall-clock figures (import milliseconds, latencies, rates) move with the other load; the ratios (import ÷ minimal
  bundle, payments/s ÷ the raw-write limit, both measured in the same run) and CPU time from /proc much less.

## Against the budgets (DESIGN §9)

| budget | measured | |
|---|---|---|
| sustained payments/s ≥ 0.5 of the limit DynamoDB Local's raw write rate implies | ${(best.sustainedPerSecond / flow.limitPerSecond).toFixed(2)} (${best.sustainedPerSecond.toFixed(1)}/s of ${flow.limitPerSecond.toFixed(1)}/s = ${flow.raw.perSecond.toFixed(0)} conditional writes/s ÷ ${flow.callsPerPayment} calls) | ${verdict(best.sustainedPerSecond / flow.limitPerSecond >= 0.5)} |
| one payment on an idle twin reaches \`succeeded\` in < 500 ms | ${warmP50} ms p50 of ${flow.single.warmMs.length} warm (max ${Math.max(...flow.single.warmMs)} ms); first one, with cold functions: ${flow.single.coldMs} ms | ${verdict(warmP50 < 500)} |
| an idle twin uses < 3 % of a core (all its processes) | ${flow.idle.totalPercent.toFixed(2)} % (${Object.entries(flow.idle.byCommand).filter(([, v]) => v > 0).map(([c, v]) => `${c} ${v.toFixed(2)} %`).join(', ')}) | ${verdict(flow.idle.totalPercent < 3)} |
| import ≤ 1.5× a minimal DynamoDB-client bundle, tracing on | ${doc.importRatios.min.toFixed(2)}–${doc.importRatios.max.toFixed(2)}× (minimal: ${doc.importRatios.minimalMs.toFixed(0)} ms here); \`payflow:sdkTracing=false\`: ${doc.importRatios.platformMin.toFixed(2)}–${doc.importRatios.platformMax.toFixed(2)}× | ${verdict(doc.importRatios.max <= 1.5)} |
| ≤ 9 write units per succeeded payment (without the simulated processor's) | ${doc.writeUnits} (${doc.allWriteUnits} with them) | ${verdict(doc.writeUnits <= 9)} |
| Standard transitions per succeeded payment | ${doc.transitions} (other paths: ${doc.transitionsByPath.filter(({ path }) => !path.startsWith('happy')).map(({ path, transitions }) => `${path} ${transitions}`).join(', ')}) | |

## Time to terminal versus load

![Time to terminal versus sustained payments/s](bench-latency-vs-load.svg)

## The run

\`\`\`
${doc.printed.join('\n').trim()}
\`\`\`
`;
  writeFileSync(file, text);
}
