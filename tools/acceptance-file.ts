/**
 * Runs one file of the acceptance suite (test/acceptance) with vitest, its global setup starting the
 * twin (or reading a deployed stack's outputs: PAYFLOW_TARGET), with extra environment and a test
 * timeout fit for a full-size run. Resolves with vitest's exit code.
 */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';

const PROJECT_DIR = resolve(import.meta.dirname, '..');

export function runAcceptanceFile(file: string, environment: Record<string, string>, testTimeoutMs = 1_800_000): Promise<number> {
  const vitest = resolve(PROJECT_DIR, 'node_modules/vitest/vitest.mjs');
  const child = spawn(process.execPath, [vitest, 'run', '--config', 'vitest.acceptance.config.ts', `--testTimeout=${testTimeoutMs}`, file], {
    cwd: PROJECT_DIR,
    stdio: 'inherit',
    env: { ...process.env, ...environment },
  });
  return new Promise((done, fail) => {
    child.on('error', fail);
    child.on('exit', (code, signal) => done(code ?? (signal ? 1 : 0)));
  });
}
