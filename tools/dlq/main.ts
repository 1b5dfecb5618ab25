/**
 * npm run dlq -- list|show|redrive [--queue EventsDlq|RelayDeadLetterQueue|SagaFailuresQueue] [--message <id>]
 *                 [--outputs-file .payflow/outputs.local.json] [--stack Payflow] [--discard] [--json]
 *
 * The stack's dead letters for an operator (tools/dlq/dead-letters.ts): `list` each message with why it
 * failed, its attempts and its payment; `show --message <id>` one whole; `redrive --queue <q>
 * [--message <id>]` through the same idempotent path it failed on. Against the twin (`npm start` writes
 * .payflow/outputs.local.json, the default) or a deployed stack (`cdk deploy --outputs-file <file>`, with
 * the SDK's usual credentials and region).
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { consoleClients, consoleStack, readOutputsFile } from '../console/stack.ts';
import { DeadLetters, type DeadLetter } from './dead-letters.ts';

const USAGE =
  'npm run dlq -- list|show|redrive [--queue <EventsDlq|RelayDeadLetterQueue|SagaFailuresQueue>] [--message <id>] ' +
  '[--outputs-file .payflow/outputs.local.json] [--stack Payflow] [--discard (delete stream pointers that have nothing to replay)] [--json]';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    queue: { type: 'string' },
    message: { type: 'string' },
    'outputs-file': { type: 'string', default: '.payflow/outputs.local.json' },
    stack: { type: 'string', default: 'Payflow' },
    discard: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});
const command = positionals[0];
if (values.help || !command || !['list', 'show', 'redrive'].includes(command)) {
  console.log(USAGE);
  process.exit(values.help ? 0 : 2);
}

const { stackName, outputs } = readOutputsFile(resolve(values['outputs-file']), values.stack);
const stack = consoleStack(stackName, outputs);
const clients = consoleClients(stack, outputs);
const deadLetters = new DeadLetters(clients, stack.outputs);

const line = (message: DeadLetter) =>
  [
    `  ${message.messageId}  sent ${message.sentAt ? new Date(message.sentAt).toISOString() : '?'}`,
    `    payment ${message.paymentId ?? '—'}${message.refundId ? ` refund ${message.refundId}` : ''}  kind ${message.kind ?? '—'}  attempts ${message.attempts ?? '—'}  received ${message.receiveCount}×`,
    `    why: ${message.reason}`,
    `    redrive: ${message.resolution}`,
  ].join('\n');

try {
  if (command === 'list') {
    const queues = await deadLetters.list(values.queue);
    if (values.json) console.log(JSON.stringify(queues.map(({ queue, messages }) => ({ queue: queue.label, depth: queue.visible + queue.inFlight, messages })), null, 2));
    else
      for (const { queue, messages } of queues) {
        console.log(`${queue.label} (${queue.name}): ${queue.visible + queue.inFlight} message(s)${queue.sources.length ? `, dead-lettered from ${queue.sources.map((source) => `${source.label} after ${source.maxReceiveCount} receives`).join(', ')}` : ''}`);
        for (const message of messages) console.log(line(message));
      }
  } else if (command === 'show') {
    if (!values.message) throw new Error('show needs --message <id> (see npm run dlq -- list)');
    const message = await deadLetters.show(values.message, values.queue);
    if (!message) throw new Error(`No message ${values.message} in ${values.queue ?? 'any dead-letter queue'}`);
    if (values.json) console.log(JSON.stringify(message, null, 2));
    else {
      console.log(`${message.queue}\n${line(message)}\n  body:`);
      const parsed = (() => {
        try {
          return JSON.stringify(JSON.parse(message.body), null, 2);
        } catch {
          return message.body;
        }
      })();
      console.log(parsed.replace(/^/gm, '    '));
    }
  } else {
    if (!values.queue) throw new Error('redrive needs --queue <label> (and --message <id> for one message)');
    const report = await deadLetters.redrive(values.queue, values.message, { discardPointers: values.discard });
    if (values.json) console.log(JSON.stringify(report, null, 2));
    else {
      console.log(`${report.queue}: ${report.method}${report.moveTask ? ' (SQS moves the messages; list the DLQ again to follow it)' : ''}`);
      for (const done of report.redriven) console.log(`  redriven ${done.messageId} → ${done.to}`);
      for (const skipped of report.skipped) console.log(`  left     ${skipped.messageId}: ${skipped.why}`);
      if (!report.moveTask && report.redriven.length === 0 && report.skipped.length === 0) console.log(`  nothing to redrive${values.message ? ` (no message ${values.message}: already redriven?)` : ''}`);
    }
    if (report.skipped.length > 0) process.exitCode = 1;
  }
} catch (error) {
  console.error(`dlq: ${(error as Error).message}`);
  process.exitCode = 1;
} finally {
  clients.destroy();
}
