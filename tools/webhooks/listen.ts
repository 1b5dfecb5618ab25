#!/usr/bin/env node
/**
 * npm run webhooks:listen [-- --outputs-file .payflow/outputs.local.json] [--merchant MerchantA] [--events "*"] [--port 0]
 *
 * Watches a merchant's webhooks on the twin: starts a local receiver on 127.0.0.1, registers it as a webhook
 * endpoint (the twin's dev mode allows http://127.0.0.1), verifies every delivery with the client's
 * `webhooks.constructEvent` and prints it. Ctrl-C deletes the endpoint and stops.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PaymentsClient, webhooks } from '../../client/payments-client.ts';
import { startWebhookReceiver } from './receiver.ts';

const { values: args } = parseArgs({
  options: {
    'outputs-file': { type: 'string', default: '.payflow/outputs.local.json' },
    'stack-name': { type: 'string', default: 'Payflow' },
    merchant: { type: 'string', default: 'MerchantA' },
    events: { type: 'string', default: '*' },
    port: { type: 'string', default: '0' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (args.help) {
  console.log('npm run webhooks:listen -- [--outputs-file .payflow/outputs.local.json] [--merchant MerchantA] [--events "*" | payment.succeeded,refund.failed] [--port 0]');
  process.exit(0);
}

let outputs: Record<string, string>;
try {
  const all = JSON.parse(readFileSync(resolve(args['outputs-file']), 'utf8')) as Record<string, Record<string, string>>;
  outputs = all[args['stack-name']] ?? Object.values(all)[0] ?? {};
} catch (error) {
  console.error(`Cannot read ${args['outputs-file']} (${error instanceof Error ? error.message : String(error)}): start the twin first with npm start.`);
  process.exit(1);
}
const apiKey = outputs[`ApiKeyValue${args.merchant}`];
if (!outputs.ApiUrl || !apiKey) {
  console.error(`${args['outputs-file']} has no ApiUrl or ApiKeyValue${args.merchant}: is it the twin's outputs file?`);
  process.exit(1);
}

const client = new PaymentsClient({ baseUrl: outputs.ApiUrl, apiKey });
let secret = '';
const receiver = await startWebhookReceiver({
  port: Number(args.port),
  onDelivery: (delivery) => {
    const time = new Date(delivery.receivedAt).toISOString();
    try {
      const event = webhooks.constructEvent(delivery.rawBody, delivery.headers['payflow-signature'] as string | undefined, secret);
      const object = event.data.object as { id?: string; status?: string; amount?: number; currency?: string };
      console.log(`${time}  ${event.type.padEnd(27)} ${event.id}  ${object.id ?? ''} ${object.status ?? ''} ${object.amount ?? ''} ${object.currency ?? ''}  [signature verified]`);
    } catch (error) {
      console.log(`${time}  REFUSED ${delivery.eventId ?? '(no event id)'}: ${error instanceof Error ? error.message : String(error)}`);
    }
  },
});
const endpoint = await client.createWebhookEndpoint({ url: `${receiver.url}/webhooks`, enabled_events: args.events.split(',').map((type) => type.trim()) });
secret = endpoint.secret;
console.log(`Listening on ${receiver.url}/webhooks as webhook endpoint ${endpoint.id} of ${args.merchant} (events: ${endpoint.enabled_events.join(', ')}); Ctrl-C to stop.`);

let stopping = false;
const stop = async () => {
  if (stopping) process.exit(130);
  stopping = true;
  await client.deleteWebhookEndpoint(endpoint.id).catch((error: unknown) => console.error(`Could not delete ${endpoint.id}: ${String(error)}`));
  await receiver.close();
  process.exit(0);
};
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop());
