#!/usr/bin/env node
/**
 * npm run history -- <pay_… | API request id> [--log-file .payflow/local.log] [--reads (GETs too)] [--json]
 *
 * Prints a payment's whole history from the twin's log: the API requests that created it and its refunds
 * (their access-log lines), and every function's log lines about it — API, outbox relay, saga starter, each saga
 * step, reconciliation — in the order they were written. The request id is the `x-amzn-RequestId` header of the
 * POST (also the payment's `requestId` field).
 */
import { createReadStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { formatEntry, paymentHistory } from './history.ts';

const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    'log-file': { type: 'string', default: '.payflow/local.log' },
    json: { type: 'boolean', default: false },
    reads: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});

const query = positionals[0];
if (args.help || !query) {
  console.log('npm run history -- <pay_… | API request id (x-amzn-RequestId)> [--log-file .payflow/local.log] [--reads (GETs of it too)] [--json]');
  process.exit(args.help ? 0 : 2);
}
const logFile = resolve(args['log-file']);
if (!existsSync(logFile)) {
  console.error(`No log at ${logFile}: npm start writes it (or pass --log-file)`);
  process.exit(1);
}

const lines = createInterface({ input: createReadStream(logFile, 'utf8'), crlfDelay: Infinity });
const collected: string[] = [];
for await (const line of lines) collected.push(line);
const history = paymentHistory(collected, query, { reads: args.reads });
if (args.json) {
  console.log(JSON.stringify(history, null, 2));
} else if (history.entries.length === 0) {
  console.error(`Nothing in ${logFile} about ${query}`);
  process.exit(1);
} else {
  console.log(`payment ${history.paymentIds.join(', ') || '(none found)'} · request ids ${history.requestIds.join(', ') || '(none)'} · ${history.entries.length} lines of ${logFile}`);
  for (const entry of history.entries) console.log(formatEntry(entry));
}
