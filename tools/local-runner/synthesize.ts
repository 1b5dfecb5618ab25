/** Synthesizes a CDK app into a cloud assembly, as `cdk synth` does, for the runner to run. */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';

export interface SynthesizeOptions {
  /** The CDK app's entry module (TypeScript or JavaScript), run with `node --import tsx`; relative to `projectDir`. */
  app: string;
  /** The CDK project: where its cdk.json (context) and node_modules (esbuild) are, and the app's working directory. Default: the working directory. */
  projectDir?: string;
  /** The cloud assembly directory (emptied first). */
  outdir: string;
  /** CDK context over cdk.json's. */
  context?: Record<string, unknown>;
}

/**
 * CDK bundles each function with `npx --no-install esbuild`: npm's own start-up, about half a second,
 * for every function. This directory's `npx` runs the project's esbuild binary directly for exactly
 * that command (same binary, same arguments, the same bundles) and hands anything else to the real npx.
 */
function npxShimDirectory(projectDir: string): string | undefined {
  const esbuild = join(projectDir, 'node_modules/.bin/esbuild');
  if (process.platform === 'win32' || !existsSync(esbuild)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'local-runner-npx-'));
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  writeFileSync(
    join(dir, 'npx'),
    [
      '#!/bin/sh',
      `if [ "$1" = "--no-install" ] && [ "$2" = "esbuild" ]; then shift 2; exec ${quote(esbuild)} "$@"; fi`,
      `PATH=${quote(process.env.PATH ?? '')} exec npx "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return dir;
}

/**
 * Synthesizes the app as `cdk synth` does (cdk.json's context, asset metadata on), in a child process,
 * minus CDK's built-in CloudFormation schema validation (CDK_VALIDATION=false: seconds of WebAssembly
 * whose findings are warnings and never change the template; `cdk synth` still runs it).
 */
export async function synthesize(options: SynthesizeOptions): Promise<void> {
  const projectDir = resolve(options.projectDir ?? '.');
  const cdkJsonPath = join(projectDir, 'cdk.json');
  const cdkJson = existsSync(cdkJsonPath) ? (JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> }) : {};
  const context = { ...cdkJson.context, 'aws:cdk:enable-asset-metadata': true, ...options.context };
  rmSync(options.outdir, { recursive: true, force: true });
  mkdirSync(options.outdir, { recursive: true });
  const shim = npxShimDirectory(projectDir);
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(projectDir, options.app)], {
    cwd: projectDir,
    env: {
      ...process.env,
      CDK_OUTDIR: options.outdir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_VALIDATION: 'false',
      ...(shim ? { PATH: `${shim}${delimiter}${process.env.PATH ?? ''}` } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.once('exit', () => shim && rmSync(shim, { recursive: true, force: true }));
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((done, reject) => {
    child.once('error', reject);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`Synthesis failed (exit ${code}):\n${output.slice(-4000)}`);
}
