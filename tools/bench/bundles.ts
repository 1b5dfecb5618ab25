/**
 * The "Function bundles" section of `npm run bench` (DESIGN §9: every bundle ≤ 500 KB, its import ≤ 1.5× that of
 * a minimal bundle that only creates a DynamoDB client, measured in the same run, with tracing on). Alone:
 * `npm run bench:bundles` (synthesizes the stack with and without `payflow:sdkTracing`, prints the table).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';
import { PAYFLOW_APP } from '../../bin/payflow-local.ts';
import { STACK_NAME } from '../../lib/app.ts';
import { BUNDLE_ALIASES } from '../../lib/constructs/payflow-function.ts';
import type { TemplateValue } from '../local-runner/intrinsics.ts';
import { synthesize } from '../local-runner/synthesize.ts';
import type { CfnTemplate } from '../local-runner/template.ts';

const PROJECT_DIR = resolvePath(import.meta.dirname, '../..');
const IMPORT_RUNS = 9;

export interface FunctionResource {
  logicalId: string;
  assetDir: string;
  memoryMb: number;
  environment: Record<string, TemplateValue>;
}

export interface ImportRatios {
  min: number;
  max: number;
  minimalMs: number;
  platformMin: number;
  platformMax: number;
}

export function functionResources(template: CfnTemplate, assembly: string): FunctionResource[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::Lambda::Function' && resource.Metadata?.['aws:asset:path'])
    .map(([logicalId, resource]) => {
      const properties = (resource.Properties ?? {}) as { MemorySize?: number; Environment?: { Variables?: Record<string, TemplateValue> } };
      return {
        logicalId,
        assetDir: join(assembly, String(resource.Metadata!['aws:asset:path'])),
        memoryMb: properties.MemorySize ?? 128,
        environment: properties.Environment?.Variables ?? {},
      };
    });
}

/** The stack's functions as synthesized with `context` (into `outdir`). */
export async function synthesizedFunctions(outdir: string, context: Record<string, unknown>): Promise<{ template: CfnTemplate; functions: FunctionResource[] }> {
  await synthesize({ ...PAYFLOW_APP, outdir, context });
  const template = JSON.parse(readFileSync(join(outdir, `${STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;
  return { template, functions: functionResources(template, outdir) };
}

/**
 * Bundle sizes and import times, each import as a ratio to a minimal bundle that only creates a DynamoDB
 * client (bundled as the functions are), measured in the same run: absolute times vary by machine and load, the
 * ratio much less. Each of a function's runs is paired with a run of the minimal bundle and one of the
 * same function without the X-Ray SDK, one right after the other, and the ratio taken per pair: on a shared
 * machine the load changes within a run, and a ratio of two imports minutes apart measures that change too.
 * Budget (DESIGN §9): ≤ 1.5×.
 */
export async function printBundles(
  functions: FunctionResource[],
  withoutSdkTracing: FunctionResource[],
  { workDir, print }: { workDir: string; print: (line?: string) => void },
): Promise<ImportRatios> {
  const minimal = await minimalDynamoDbBundle(workDir);
  print(`\nFunction bundles (minified ESM; budget ≤ 500 KB, import ≤ 1.5× a minimal bundle that only creates a DynamoDB client; import = CPU time of the import in a fresh Node process, in the environment Lambda gives a function with active tracing; ratio = median over ${IMPORT_RUNS} runs, each beside a run of the minimal bundle):`);
  const minimalTimes: number[] = [];
  const rows = functions.map((fn) => {
    const other = withoutSdkTracing.find((f) => f.logicalId === fn.logicalId)!;
    const runs = Array.from({ length: IMPORT_RUNS }, () => {
      const minimalMs = importMs(minimal);
      minimalTimes.push(minimalMs);
      const tracedMs = importMs(fn);
      const otherMs = importMs(other);
      return { minimalMs, tracedMs, otherMs };
    });
    return {
      name: fn.logicalId,
      traced: { kb: bundleKb(fn), importMs: median(runs.map((run) => run.tracedMs)), ratio: median(runs.map((run) => run.tracedMs / run.minimalMs)) },
      other: { kb: bundleKb(other), importMs: median(runs.map((run) => run.otherMs)), ratio: median(runs.map((run) => run.otherMs / run.minimalMs)) },
    };
  });
  const minimalMs = median(minimalTimes);
  print(`  minimal bundle (DynamoDB client only): ${bundleKb(minimal).toFixed(0)} KB, import ${minimalMs.toFixed(1)} ms (median over the run)`);
  print(`  ${'function'.padEnd(44)} ${'default tracing'.padStart(28)}   ${'payflow:sdkTracing=false'.padStart(32)}`);
  for (const row of rows.sort((a, b) => b.traced.kb - a.traced.kb)) {
    const figures = (f: { kb: number; importMs: number; ratio: number }) => `${f.kb.toFixed(0).padStart(5)} KB ${f.importMs.toFixed(1).padStart(7)} ms ${f.ratio.toFixed(2).padStart(5)}×`;
    print(`  ${row.name.padEnd(44)} ${figures(row.traced).padStart(28)}   ${figures(row.other).padStart(32)}`);
  }
  const ratios = rows.map((row) => row.traced.ratio);
  const platform = rows.map((row) => row.other.ratio);
  const over = rows.filter((row) => row.traced.ratio > 1.5).map((row) => row.name);
  print(`  import ratio, default tracing: ${Math.min(...ratios).toFixed(2)}–${Math.max(...ratios).toFixed(2)}× (budget ≤ 1.5×; over: ${over.length === 0 ? 'none' : over.join(', ')}); payflow:sdkTracing=false: ${Math.min(...platform).toFixed(2)}–${Math.max(...platform).toFixed(2)}×`);
  print(`  the X-Ray SDK path (default tracing minus payflow:sdkTracing=false, median over the functions): ${median(rows.map((row) => row.traced.importMs - row.other.importMs)).toFixed(1)} ms, ${median(rows.map((row) => row.traced.ratio - row.other.ratio)).toFixed(2)}×`);
  return { min: Math.min(...ratios), max: Math.max(...ratios), minimalMs, platformMin: Math.min(...platform), platformMax: Math.max(...platform) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** The yardstick: a bundle that only creates a DynamoDB client, built with the functions' esbuild options. */
async function minimalDynamoDbBundle(workDir: string): Promise<FunctionResource> {
  const dir = join(workDir, 'minimal-dynamodb');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'handler.mjs'), "import { DynamoDBClient } from '@aws-sdk/client-dynamodb';\nconst client = new DynamoDBClient({});\nexport const handler = async () => client.config.serviceId;\n");
  await build({
    entryPoints: [join(dir, 'handler.mjs')],
    outfile: join(dir, 'index.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    minify: true,
    mainFields: ['module', 'main'],
    nodePaths: [join(PROJECT_DIR, 'node_modules')],
    alias: { ...BUNDLE_ALIASES },
    banner: { js: "import { createRequire as __payflowCreateRequire } from 'module'; const require = __payflowCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
  return { logicalId: 'MinimalDynamoDbClient', assetDir: dir, memoryMb: 256, environment: {} };
}

/**
 * What Lambda sets for a function with active tracing (nodejs22.x), before its module is imported. With it the
 * Powertools Tracer is enabled at import, as in Lambda (outside Lambda it turns itself off), and the X-Ray SDK
 * sets up its Lambda context. No trace header yet: Lambda sets that per invocation.
 */
export function lambdaEnvironment(fn: FunctionResource): Record<string, string> {
  return {
    AWS_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    LAMBDA_TASK_ROOT: fn.assetDir,
    AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    ...Object.fromEntries(Object.entries(fn.environment).map(([name, value]) => [name, typeof value === 'string' ? value : 'bench'])),
  };
}

function bundleKb(fn: FunctionResource): number {
  return statSync(join(fn.assetDir, 'index.mjs')).size / 1024;
}

/** CPU time (user + system) of importing the function's bundle in a fresh Node process. */
function importMs(fn: FunctionResource): number {
  const file = join(fn.assetDir, 'index.mjs');
  // CPU time, not wall time: on a shared machine other processes' load stretches wall time; the work of
  // importing (parse, compile, evaluate) is what the CPU time counts.
  const script = `const c = process.cpuUsage(); await import(${JSON.stringify(pathToFileURL(file).href)}); const u = process.cpuUsage(c); process.stdout.write(String((u.user + u.system) / 1000));`;
  const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, ...lambdaEnvironment(fn) }, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`Importing ${fn.logicalId} failed: ${run.stderr.slice(-2000)}`);
  return Number(run.stdout);
}

if (process.argv[1] && resolvePath(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const workDir = mkdtempSync(join(tmpdir(), 'payflow-bench-bundles-'));
  try {
    const print = (line = '') => process.stdout.write(`${line}\n`);
    const started = Date.now();
    print(`Synthesizing the stack twice (default tracing, payflow:sdkTracing=false); load average ${loadavg().map((n) => n.toFixed(2)).join(' ')} ...`);
    const { functions } = await synthesizedFunctions(workDir, { 'payflow:dev': true });
    const platform = await synthesizedFunctions(join(workDir, 'platform-tracing'), { 'payflow:dev': true, 'payflow:sdkTracing': false });
    await printBundles(functions, platform.functions, { workDir, print });
    print(`\n${((Date.now() - started) / 1000).toFixed(0)} s; load average after: ${loadavg().map((n) => n.toFixed(2)).join(' ')}`);
  } finally {
    rmSync(workDir, { recursive: true, force: true });
  }
}
