#!/usr/bin/env node
/**
 * npm run console [-- --outputs-file .payflow/outputs.local.json] [--stack Payflow] [--port 3001] [--allow-actions]
 *
 * Serves the console on http://127.0.0.1:<port>/ for the stack an outputs file names: the twin's
 * (`npm start` writes .payflow/outputs.local.json, the default) or a deployed one's
 * (`cdk deploy --outputs-file .payflow/outputs.aws.json`, read with your AWS credentials and region).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startConsole } from './server.ts';
import { readOutputsFile } from './stack.ts';

const { values: args } = parseArgs({
  options: {
    'outputs-file': { type: 'string', default: '.payflow/outputs.local.json' },
    stack: { type: 'string', default: 'Payflow' },
    port: { type: 'string', default: process.env.CONSOLE_PORT ?? '3001' },
    'allow-actions': { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

if (args.help) {
  console.log('npm run console -- [--outputs-file .payflow/outputs.local.json] [--stack Payflow] [--port 3001 (or env CONSOLE_PORT)] [--allow-actions (redrive dead letters)]');
  process.exit(0);
}

try {
  const { stackName, outputs } = readOutputsFile(resolve(args['outputs-file']), args.stack);
  const running = await startConsole({ stackName, outputs, port: Number(args.port), allowActions: args['allow-actions'] });
  const target = outputs.LocalDynamoDbEndpoint ? 'the local twin' : 'AWS (your credentials)';
  console.log(`Payflow console for ${stackName} on ${target}: ${running.url}${args['allow-actions'] ? ' (actions allowed)' : ' (read-only)'}`);
  const stop = () => void running.close().then(() => process.exit(0));
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, stop);
} catch (error) {
  console.error(`The console could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
