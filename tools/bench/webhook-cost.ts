/**
 * The webhook path's cost per million succeeded payments (issue 11), at us-east-1 list prices: the recorder
 * (the Payments stream's second consumer), the Webhooks table (events kept 30 days, endpoint reads), the
 * delivery queue and the dispatcher. A model: its inputs are below, each with where it comes from.
 * `npm run bench` prints it after the payment's own cost; `npx tsx tools/bench/webhook-cost.ts` prints it alone.
 */
import { pathToFileURL } from 'node:url';

export const WEBHOOK_PRICE = {
  lambdaRequestPerMillion: 0.2,
  lambdaArmGbSecond: 0.0000133334,
  dynamodbWriteUnitPerMillion: 0.625,
  dynamodbReadUnitPerMillion: 0.125,
  dynamodbStorageGbMonth: 0.25,
  sqsStandardRequestPerMillion: 0.4,
  logsIngestionPerGb: 0.5,
};

export interface WebhookCostInputs {
  /** Status changes of a succeeded payment: created, succeeded (the stream carries each; the saga writes no processing any more). */
  eventsPerPayment: number;
  /** Endpoints that want each event (one `["*"]` endpoint per merchant). */
  endpointsPerEvent: number;
  /** Stored event item: the API's event JSON of a payment without metadata is ~0.45 KB on the twin; with keys, merchant and TTL ~0.6 KB. */
  eventItemKb: number;
  /** Records per recorder invocation and messages per dispatcher invocation at steady load (an assumption, as for the relay). */
  recordsPerBatch: number;
  /** A delivery's duration (the receiver's answer dominates; 200 ms is an assumption) at 256 MB. */
  deliveryMs: number;
  memoryMb: number;
  /** Share of deliveries that fail once and are retried (each retry: send, receive, delete, two reads, a dispatch). */
  retryShare: number;
}

export const DEFAULT_WEBHOOK_COST_INPUTS: WebhookCostInputs = {
  eventsPerPayment: 2,
  endpointsPerEvent: 1,
  eventItemKb: 0.6,
  recordsPerBatch: 10,
  deliveryMs: 200,
  memoryMb: 256,
  retryShare: 0.05,
};

export function webhookCostLines(inputs: WebhookCostInputs = DEFAULT_WEBHOOK_COST_INPUTS, price = WEBHOOK_PRICE): Array<[string, number, string]> {
  const million = 1_000_000;
  const events = inputs.eventsPerPayment;
  const deliveries = events * inputs.endpointsPerEvent * (1 + inputs.retryShare);
  // Recorder: a batch per recordsPerBatch records; each event is one put (≤ 1 KB: 1 write unit); the merchant's endpoints
  // are one eventually consistent query per merchant per batch (0.5 read unit). Lambda's stream reads are free.
  const recorderInvocations = events / inputs.recordsPerBatch;
  const writeUnits = events * Math.ceil(inputs.eventItemKb);
  const recorderReads = 0.5 * recorderInvocations;
  // Dispatcher: per delivery a consistent GetItem of the endpoint (1 unit) and an eventually consistent one of the event (0.5).
  const dispatcherInvocations = deliveries / inputs.recordsPerBatch;
  const dispatcherReads = 1.5 * deliveries;
  // SQS standard: a SendMessageBatch per event (recorder), receive and delete in batches (Lambda's poller).
  const sqsRequests = events + (2 * deliveries) / inputs.recordsPerBatch + events * inputs.endpointsPerEvent * inputs.retryShare;
  const gbSeconds = (dispatcherInvocations * inputs.deliveryMs + recorderInvocations * 30) / 1000 * (inputs.memoryMb / 1024);
  // Events live 30 days: a million payments' events occupy their size for one month.
  const storageGbMonth = (events * inputs.eventItemKb * million) / 1024 ** 2;
  const logBytes = (recorderInvocations + dispatcherInvocations) * 3 * 250;
  return [
    ['Lambda requests', (recorderInvocations + dispatcherInvocations) * price.lambdaRequestPerMillion, `${(recorderInvocations + dispatcherInvocations).toFixed(2)} invocations (recorder ${recorderInvocations.toFixed(2)}, dispatcher ${dispatcherInvocations.toFixed(2)})`],
    ['Lambda compute (arm64)', gbSeconds * million * price.lambdaArmGbSecond, `${inputs.memoryMb} MB; ${inputs.deliveryMs} ms per dispatcher batch, 30 ms per recorder batch`],
    ['DynamoDB writes', writeUnits * price.dynamodbWriteUnitPerMillion, `${writeUnits} write units (one event item each; TTL deletes are free)`],
    ['DynamoDB reads', (recorderReads + dispatcherReads) * price.dynamodbReadUnitPerMillion, `${(recorderReads + dispatcherReads).toFixed(2)} read units (endpoint query per batch, endpoint + event per delivery)`],
    ['DynamoDB storage (30 days)', storageGbMonth * price.dynamodbStorageGbMonth, `${(storageGbMonth).toFixed(2)} GB-month (${events} events × ${inputs.eventItemKb} KB)`],
    ['SQS standard requests', sqsRequests * price.sqsStandardRequestPerMillion, `${sqsRequests.toFixed(2)} requests (${(inputs.retryShare * 100).toFixed(0)}% of deliveries retried once)`],
    ['CloudWatch Logs', ((logBytes * million) / 1024 ** 3) * price.logsIngestionPerGb, 'platform lines only (deliveries log failures alone)'],
  ];
}

export function printWebhookCost(print: (line: string) => void = console.log, inputs = DEFAULT_WEBHOOK_COST_INPUTS): void {
  const lines = webhookCostLines(inputs);
  const total = lines.reduce((sum, [, cost]) => sum + cost, 0);
  print(`\nWebhook path per million succeeded payments (USD; ${inputs.eventsPerPayment} events each, ${inputs.endpointsPerEvent} endpoint per event; same for Standard and Express):`);
  for (const [item, cost, basis] of lines) print(`  ${item.padEnd(30)} ${cost.toFixed(2).padStart(8)}   ${basis}`);
  print(`  ${'total'.padEnd(30)} ${total.toFixed(2).padStart(8)}`);
  const retry = webhookCostLines({ ...inputs, retryShare: 1 }).reduce((sum, [, cost]) => sum + cost, 0) - webhookCostLines({ ...inputs, retryShare: 0 }).reduce((sum, [, cost]) => sum + cost, 0);
  print(`  one more attempt of every delivery adds ${retry.toFixed(2)} per million payments`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) printWebhookCost();
