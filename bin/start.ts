#!/usr/bin/env node
/**
 * npm start [-- --port 3000] [--outputs-file .payflow/outputs.local.json] [--cdk-out dir] [--time-scale 1] [--logs]
 *           [--console-port 3001] [--no-console]
 *
 * Synthesizes the app and runs that template locally: the local runner (tools/local-runner) with Payflow's
 * specifics (bin/payflow-local.ts), and the console (tools/console, read-only) on the next port. Prints one ready line;
 * function logs and the API access log go to .payflow/local.log (or to stderr with --logs).
 * Ctrl-C / SIGTERM stops everything it started.
 */
import { createWriteStream, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startConsole, type RunningConsole } from '../tools/console/server.ts';
import { readOutputsFile } from '../tools/console/stack.ts';
import { startLocalStack } from '../tools/local-runner/runner.ts';
import { PAYFLOW_LOCAL, payflowContext } from './payflow-local.ts';

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
    'console-port': { type: 'string' },
    'no-console': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log(
    'npm start -- [--port 3000 (or env PORT)] [--outputs-file .payflow/outputs.local.json] [--cdk-out <assembly: skip synth>] ' +
      '[--time-scale 1 (or env PAYFLOW_TIME_SCALE)] [--logs (function logs to stderr)] [--log-file .payflow/local.log] ' +
      '[--console-port <API port + 1> (the read-only console; npm run console for its options)] [--no-console]',
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
  const port = number(args.port ?? process.env.PORT, 'port') ?? DEFAULT_PORT;
  const stack = await startLocalStack({
    ...PAYFLOW_LOCAL,
    port,
    outputsFile: args['outputs-file'] ?? DEFAULT_OUTPUTS_FILE,
    cdkOut: args['cdk-out'],
    synthOutdir: SYNTH_OUTDIR,
    timeScale: number(args['time-scale'] ?? process.env.PAYFLOW_TIME_SCALE, 'time-scale'),
    context: payflowContext(number(args['time-scale'] ?? process.env.PAYFLOW_TIME_SCALE, 'time-scale')),
    functionLogs: (functionName, line) => writeLog(`[${functionName}] ${line}`),
    log: (line) => writeLog(`[api] ${line}`),
  });
  writeLog(`[runner] ready in ${stack.timings.total} ms (${JSON.stringify(stack.timings)})`);
  // The console (read-only) on the next port: a busy port costs the console, never the stack.
  let consoleServer: RunningConsole | undefined;
  let consolePart = '';
  if (!args['no-console'] && stack.outputsFile) {
    const consolePort = number(args['console-port'], 'console-port') ?? (port === 0 ? 0 : port + 1);
    try {
      const { stackName, outputs } = readOutputsFile(stack.outputsFile, PAYFLOW_LOCAL.stackName);
      consoleServer = await startConsole({ stackName, outputs, port: consolePort });
      consolePart = ` — console: ${consoleServer.url}`;
    } catch (error) {
      consolePart = ` — console not started (${error instanceof Error ? error.message : String(error)}; npm run console -- --port <free port>)`;
    }
  }
  console.log(`${stack.readyMessage}${consolePart}`);

  const shutdown = (signal: string) => {
    if (stopping) {
      console.error(`${signal} again: exiting without waiting`);
      process.exit(130);
    }
    stopping = Promise.all([consoleServer?.close(), stack.stop()]).then(
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
