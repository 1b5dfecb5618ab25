#!/usr/bin/env node
/**
 * npm start [-- --port 3000] [--outputs-file .payflow/outputs.local.json] [--cdk-out dir] [--time-scale 1] [--logs]
 *
 * Synthesizes the app and runs that template locally: the local runner (tools/local-runner) with Payflow's
 * specifics (bin/payflow-local.ts). Prints one ready line;
 * function logs and the API access log go to .payflow/local.log (or to stderr with --logs).
 * Ctrl-C / SIGTERM stops everything it started.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startLocalStack } from '../tools/local-runner/runner.ts';
import { PAYFLOW_LOCAL } from './payflow-local.ts';

const DEFAULT_PORT = 3000;
const DEFAULT_OUTPUTS_FILE = '.payflow/outputs.local.json';
const SYNTH_OUTDIR = '.payflow/cdk.out';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string' },
    'outputs-file': { type: 'string' },
    'cdk-out': { type: 'string' },
    'time-scale': { type: 'string' },
    'log-file': { type: 'string' },
    logs: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'npm start -- [--port 3000 (or env PORT)] [--outputs-file .payflow/outputs.local.json] [--cdk-out <assembly: skip synth>] ' +
      '[--time-scale 1 (or env PAYFLOW_TIME_SCALE)] [--logs (function logs to stderr)] [--log-file .payflow/local.log]',
  );
  process.exit(0);
}

const number = (text: string | undefined, name: string): number | undefined => {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) {
    console.error(`${name} must be a non-negative number, got ${text}`);
    process.exit(2);
  }
  return value;
};

const logFile = resolve(args['log-file'] ?? '.payflow/local.log');
mkdirSync(dirname(logFile), { recursive: true });
const logStream = args.logs ? process.stderr : createWriteStream(logFile, { flags: 'a' });
const writeLog = (line: string) => logStream.write(`${line}\n`);

let stopping: Promise<void> | undefined;
try {
  const stack = await startLocalStack({
    ...PAYFLOW_LOCAL,
    port: number(args.port ?? process.env.PORT, 'port') ?? DEFAULT_PORT,
    outputsFile: args['outputs-file'] ?? DEFAULT_OUTPUTS_FILE,
    cdkOut: args['cdk-out'],
    synthOutdir: SYNTH_OUTDIR,
    timeScale: number(args['time-scale'] ?? process.env.PAYFLOW_TIME_SCALE, 'time-scale'),
    functionLogs: (functionName, line) => writeLog(`[${functionName}] ${line}`),
    log: (line) => writeLog(`[api] ${line}`),
  });
  writeLog(`[runner] ready in ${stack.timings.total} ms (${JSON.stringify(stack.timings)})`);
  console.log(stack.readyMessage);

  const shutdown = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = stack.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('Stopping failed:', error);
        process.exit(1);
      },
    );
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => shutdown(signal));
} catch (error) {
  console.error(`Payflow could not start locally: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
