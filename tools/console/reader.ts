/**
 * What the console shows, read from the stack with the AWS SDK only (DynamoDB, DynamoDB Streams, SQS,
 * Step Functions): the same calls work against the twin and against a deployed stack. Read-only, except
 * `redrive` (only offered when the console runs with --allow-actions).
 *
 * Peeking at a dead-letter queue receives its messages with a visibility timeout of 0 (as the AWS
 * console's "poll for messages" does): they stay in the queue, visible, but their receive count grows.
 */
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { DescribeStreamCommand, GetRecordsCommand, GetShardIteratorCommand, type _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';
import { DescribeExecutionCommand, DescribeStateMachineCommand, GetExecutionHistoryCommand, ListExecutionsCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, type Message } from '@aws-sdk/client-sqs';
import { BatchGetCommand, GetCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import { DeadLetters, type DeadLetterKind, type QueueInfo } from '../dlq/dead-letters.ts';
import { readDailyReport, type StoredReport } from '../reconciliation/report.ts';
import type { ConsoleClients, ConsoleStack } from './stack.ts';

/** The dead-letter queues a redrive has a path for (tools/dlq). */
const REDRIVABLE_KINDS = new Set<DeadLetterKind>(['events', 'relay', 'saga-failures']);

type Item = Record<string, any>;

export const TERMINAL_STATUSES = ['succeeded', 'failed', 'partially_refunded', 'refunded'];
const MAX_SCAN_PAGES = 10;
const MAX_LISTED = 500;
/** Reconciliation restarts the saga of a payment or refund open this long (its `stuckAfter`). */
const STUCK_AFTER_MS = 15 * 60_000;
/** The OldestOpenPaymentAge and OldestOpenRefundAge alarms' threshold (lib/constructs/observability.ts MAX_OPEN_ITEM_AGE). */
const MAX_OPEN_AGE_MS = 30 * 60_000;

export interface PaymentRow {
  id: string;
  merchantId: string;
  merchant: string;
  amount: number;
  currency: string;
  status: string;
  source: string;
  failureCode?: string;
  amountRefunded: number;
  createdAt: string;
  updatedAt: string;
  terminalAt?: string;
  timeToTerminalMs?: number;
}

export interface OpenRefundRow {
  id: string;
  paymentId: string;
  amount: number;
  currency: string;
  createdAt: string;
  ageMs: number;
  /** Reconciliation handed it to an operator (it left the open-items index, still pending). */
  flaggedAt?: string;
}

export interface DailyReportView {
  tableName: string;
  /** How many days have a report. */
  days: number;
  /** The newest day's report (the day reconciled, its counts, findings and when it last ran); absent when none yet. */
  report?: StoredReport & { discrepancies: number };
}

export interface WebhookEndpointView {
  id: string;
  /** Origin and path only: a query string may carry a token, so it is never shown. */
  url: string;
  status: string;
  disabledReason?: string;
  enabledEvents: string[];
}

export type DeliveryState = 'delivered' | 'in_progress' | 'given_up' | 'not_sent' | 'unknown';

/** One event to one endpoint, from what the stack keeps: the event, the endpoint, the webhook DLQ and the delivery queue's depth. */
export interface WebhookDeliveryView {
  eventId: string;
  eventType: string;
  eventAt: number;
  endpointId: string;
  url: string;
  state: DeliveryState;
  summary: string;
  /** Known only for a delivery given up (the DLQ message carries its last attempt). */
  attempts?: number;
  firstAttemptAt?: number;
  lastAttemptAt?: number;
  lastStatus?: number;
  lastError?: string;
  gaveUpAt?: number;
}

export interface WebhooksView {
  endpoints: WebhookEndpointView[];
  events: Array<{ id: string; type: string; at: number }>;
  deliveries: WebhookDeliveryView[];
  /** What is not stored and why (each attempt lives only in the delivery queue's next message). */
  note: string;
  truncated: boolean;
}

export interface StateVisit {
  name: string;
  type: string;
  enteredAt: number;
  exitedAt?: number;
  /** Each failed attempt: the ones before a success (or before the last) were retried. */
  failures: Array<{ error?: string; cause?: string; at: number }>;
  retries: number;
  /** The visit ended in an error (caught, or the execution failed there). */
  failed: boolean;
}

export interface ExecutionView {
  saga: 'payment' | 'refund';
  refundId?: string;
  name: string;
  executionArn: string;
  status: string;
  startDate?: number;
  stopDate?: number;
  error?: string;
  cause?: string;
  graph?: StateGraph;
  visits: StateVisit[];
  historyAvailable: boolean;
  note?: string;
}

export interface StateGraph {
  startAt: string;
  states: Array<{ name: string; type: string; comment?: string; next: Array<{ to: string; kind: 'next' | 'choice' | 'default' | 'catch' }>; retries: boolean }>;
}

export interface CircuitBreakerView {
  tableName: string;
  position: 'closed' | 'open' | 'half-open';
  generation: number;
  /** Epoch ms: open until then, half-open after. */
  openedUntil?: number;
  /** Epoch ms: a claimed probe holds the half-open breaker until then. */
  probeUntil?: number;
  failuresInLatestWindow: number;
  latestWindowStart?: number;
}

export interface TimelineStep {
  at: number;
  kind: 'request' | 'outbox' | 'queue' | 'saga' | 'state' | 'processor' | 'ledger' | 'refund' | 'status' | 'webhook';
  title: string;
  detail?: string;
  /** An API request's id (x-amzn-RequestId), when the item it created kept it. */
  requestId?: string;
  flag?: 'retry' | 'error';
}

const time = (iso: unknown) => (typeof iso === 'string' ? Date.parse(iso) : NaN);
const secondsToMs = (date: Date | undefined) => (date ? date.getTime() : undefined);

export class ConsoleReader {
  private readonly streamCache = new Map<string, { iterator?: string; records: StreamRecord[]; closed: boolean }>();
  private streamArn?: string;
  private readonly graphs = new Map<string, StateGraph>();
  private readonly depthSamples: Array<{ at: number; depths: Record<string, number> }> = [];
  private deadLettersTool?: DeadLetters;

  constructor(
    readonly stack: ConsoleStack,
    private readonly clients: ConsoleClients,
  ) {}

  private output(name: string): string {
    const value = this.stack.outputs[name];
    if (!value) throw new Error(`The stack has no output ${name}`);
    return value;
  }

  merchantName(id: string): string {
    return this.stack.merchants.find((merchant) => merchant.id === id)?.name ?? id;
  }

  // ---------------------------------------------------------------- payments

  /** The payments, their capture postings and the refunds: a scan of at most 10 pages. */
  private async scanPayments(): Promise<{ items: Item[]; truncated: boolean }> {
    const items: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await this.clients.dynamodb.send(
        new ScanCommand({
          TableName: this.output('PaymentsTableName'),
          FilterExpression: '#entity IN (:payment, :refund) OR SK = :capture',
          ExpressionAttributeNames: { '#entity': 'entity' },
          ExpressionAttributeValues: { ':payment': 'payment', ':refund': 'refund', ':capture': 'POSTING#capture' },
          ExclusiveStartKey: startKey,
        }),
      );
      items.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
      pages += 1;
    } while (startKey && pages < MAX_SCAN_PAGES);
    return { items, truncated: Boolean(startKey) };
  }

  /** Every payment (newest first, at most 500; a scan of at most 10 pages), with its time to terminal. */
  async payments(
    filter: { status?: string; merchant?: string; token?: string } = {},
    scanned?: { items: Item[]; truncated: boolean },
  ): Promise<{ payments: PaymentRow[]; truncated: boolean; statuses: Record<string, number> }> {
    const { items, truncated } = scanned ?? (await this.scanPayments());
    const captures = new Map(items.filter((item) => item.SK === 'POSTING#capture').map((item) => [item.PK as string, item.createdAt as string]));
    const all = items.filter((item) => item.entity === 'payment').map((item) => this.paymentRow(item, captures.get(item.PK)));
    const statuses: Record<string, number> = {};
    for (const row of all) statuses[row.status] = (statuses[row.status] ?? 0) + 1;
    const rows = all
      .filter((row) => !filter.status || row.status === filter.status)
      .filter((row) => !filter.merchant || row.merchant === filter.merchant || row.merchantId === filter.merchant)
      .filter((row) => !filter.token || row.source === filter.token)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id));
    return { payments: rows.slice(0, MAX_LISTED), truncated: truncated || rows.length > MAX_LISTED, statuses };
  }

  private paymentRow(item: Item, capturedAt: string | undefined): PaymentRow {
    const terminal = TERMINAL_STATUSES.includes(item.status);
    // PostLedger writes the capture posting and `succeeded` in one transaction: its time is the terminal time
    // even after later refunds; a failed payment's last update is its terminal time.
    const terminalAt = !terminal ? undefined : capturedAt ?? item.updatedAt;
    return {
      id: item.id,
      merchantId: item.merchantId,
      merchant: this.merchantName(item.merchantId),
      amount: item.amount,
      currency: item.currency,
      status: item.status,
      source: item.source,
      ...(item.failureCode ? { failureCode: item.failureCode } : {}),
      amountRefunded: item.amountRefunded ?? 0,
      createdAt: item.createdAt,
      updatedAt: item.updatedAt,
      ...(terminalAt ? { terminalAt, timeToTerminalMs: time(terminalAt) - time(item.createdAt) } : {}),
    };
  }

  // ---------------------------------------------------------------- one payment's journey

  async journey(paymentId: string) {
    const { Items = [] } = await this.clients.dynamodb.send(
      new QueryCommand({ TableName: this.output('PaymentsTableName'), KeyConditionExpression: 'PK = :pk', ExpressionAttributeValues: { ':pk': `PAYMENT#${paymentId}` } }),
    );
    const paymentItem = Items.find((item) => item.entity === 'payment');
    if (!paymentItem) return undefined;
    const refunds = Items.filter((item) => item.entity === 'refund').sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
    const postings = Items.filter((item) => item.entity === 'posting').map((item) => ({
      sortKey: item.SK as string,
      kind: item.SK === 'POSTING#capture' ? 'capture' : 'refund',
      createdAt: item.createdAt as string,
      currency: item.currency as string,
      lines: (item.lines as Array<{ account: string; amount: number }>).map((line) => ({ account: line.account, debit: line.amount > 0 ? line.amount : 0, credit: line.amount < 0 ? -line.amount : 0 })),
      balanced: (item.lines as Array<{ amount: number }>).reduce((sum, line) => sum + line.amount, 0) === 0,
    }));
    const payment = this.paymentRow(paymentItem, postings.find((posting) => posting.kind === 'capture')?.createdAt);
    const [processorCalls, streamRecords, executions, webhooks] = await Promise.all([
      this.processorCalls(paymentId, refunds.map((refund) => refund.id as string)),
      this.streamRecordsOf(`PAYMENT#${paymentId}`).catch((error: unknown) => ({ error: String(error instanceof Error ? error.message : error) })),
      Promise.all([
        this.execution('payment', this.output('PaymentSagaArn'), `payment-${paymentId}`),
        ...refunds.map((refund) => this.execution('refund', this.output('RefundSagaArn'), `refund-${refund.id}`, refund.id)),
      ]),
      this.webhooks(payment, refunds).catch((error: unknown) => ({ error: String(error instanceof Error ? error.message : error) })),
    ]);
    const outbox = Array.isArray(streamRecords) ? streamRecords : [];
    const webhooksView = webhooks && 'deliveries' in webhooks ? webhooks : undefined;
    return {
      payment: { ...payment, description: paymentItem.description, amountCaptured: paymentItem.amountCaptured, amountRefundable: paymentItem.amountRefundable, requestId: paymentItem.requestId },
      refunds: refunds.map((refund) => ({ id: refund.id, amount: refund.amount, status: refund.status, failureCode: refund.failureCode, requestId: refund.requestId, createdAt: refund.createdAt, updatedAt: refund.updatedAt })),
      postings,
      processorCalls,
      outbox,
      outboxNote: Array.isArray(streamRecords) ? undefined : `The stream could not be read: ${streamRecords.error}`,
      executions,
      webhooks: webhooksView,
      webhooksNote: webhooks === undefined ? 'The stack has no WebhooksTableName output.' : webhooksView ? undefined : `The webhooks could not be read: ${(webhooks as { error: string }).error}`,
      timeline: timeline(payment, paymentItem, refunds, postings, processorCalls, outbox, executions, webhooksView),
    };
  }

  /**
   * The payment's merchant events (Webhooks table, `EVENT#<id>`: ids begin with the change's time, so only the
   * spans the payment and its refunds changed in are queried) and, for each endpoint that wants one, what is
   * known of its delivery. Each attempt is NOT stored: a failed attempt's status, error and next retry time
   * live only in the delivery queue's next message, which the console does not read (a read is a receive,
   * and five receives move a message to the DLQ). What is readable: a delivery given up (the webhook DLQ
   * keeps its attempt count, first scheduling, last status or error), the endpoint's state (disabled, and
   * why) and whether any delivery is still queued. The endpoints' signing secrets are never read.
   */
  private async webhooks(payment: PaymentRow, refunds: Item[]): Promise<WebhooksView | undefined> {
    const tableName = this.stack.outputs.WebhooksTableName;
    if (!tableName) return undefined;
    const partition = `MERCHANT#${payment.merchantId}`;
    const slack = 5_000;
    const spans = [
      [time(payment.createdAt), payment.terminalAt ? time(payment.terminalAt) : Date.now()],
      ...refunds.map((refund) => [time(refund.createdAt), refund.status === 'pending' ? Date.now() : time(refund.updatedAt)]),
    ]
      .filter(([from, to]) => Number.isFinite(from) && Number.isFinite(to))
      .map(([from, to]) => [from! - slack, to! + slack] as [number, number])
      .sort((a, b) => a[0] - b[0]);
    const merged: Array<[number, number]> = [];
    for (const span of spans) {
      const last = merged.at(-1);
      if (last && span[0] <= last[1]) last[1] = Math.max(last[1], span[1]);
      else merged.push(span);
    }
    const eventKey = (ms: number) => `EVENT#evt_${Math.max(0, ms).toString(16).padStart(12, '0')}`;
    const events: Array<{ id: string; type: string; at: number }> = [];
    let truncated = false;
    for (const [from, to] of merged) {
      let startKey: Record<string, unknown> | undefined;
      let pages = 0;
      do {
        const page = await this.clients.dynamodb.send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: 'PK = :pk AND SK BETWEEN :from AND :to',
            FilterExpression: '#object.#id = :payment OR #object.#paymentId = :payment',
            ProjectionExpression: '#id, #type',
            ExpressionAttributeNames: { '#object': 'object', '#id': 'id', '#paymentId': 'paymentId', '#type': 'type' },
            ExpressionAttributeValues: { ':pk': partition, ':from': eventKey(from), ':to': `${eventKey(to)}~`, ':payment': payment.id },
            ExclusiveStartKey: startKey,
          }),
        );
        for (const item of page.Items ?? []) events.push({ id: item.id, type: item.type, at: eventTime(item.id) });
        startKey = page.LastEvaluatedKey;
        pages += 1;
      } while (startKey && pages < MAX_SCAN_PAGES);
      truncated ||= Boolean(startKey);
    }
    events.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));

    const endpointItems: Item[] = [];
    let startKey: Record<string, unknown> | undefined;
    do {
      const page = await this.clients.dynamodb.send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :endpoint)',
          // Never the secret nor the previous secret.
          ProjectionExpression: '#id, #url, enabledEvents, #status, disabledReason, created',
          ExpressionAttributeNames: { '#id': 'id', '#url': 'url', '#status': 'status' },
          ExpressionAttributeValues: { ':pk': partition, ':endpoint': 'ENDPOINT#' },
          ExclusiveStartKey: startKey,
        }),
      );
      endpointItems.push(...(page.Items ?? []));
      startKey = page.LastEvaluatedKey;
    } while (startKey);
    const endpoints = endpointItems.map((item) => ({
      id: String(item.id),
      url: displayUrl(String(item.url)),
      status: String(item.status),
      ...(item.disabledReason ? { disabledReason: String(item.disabledReason) } : {}),
      enabledEvents: (item.enabledEvents as string[] | undefined) ?? [],
      created: Number(item.created),
    }));

    // An endpoint created after the event was not sent it; one created in the same second may have been.
    const pairs = events.flatMap((event) =>
      endpoints
        .filter((endpoint) => (endpoint.enabledEvents.includes('*') || endpoint.enabledEvents.includes(event.type)) && endpoint.created <= Math.floor(event.at / 1000))
        .map((endpoint) => ({ event, endpoint })),
    );
    let givenUp: Array<{ eventId: string; endpointId: string; attempts: number; firstScheduledAt?: number; lastStatus?: number; lastError?: string; gaveUpAt: number }> = [];
    let queued = 0;
    if (pairs.length > 0) {
      const queues = await this.deadLetterTool().queues();
      const deliveryQueue = queues.find((queue) => queue.label === 'WebhookDeliveryQueue');
      queued = deliveryQueue ? deliveryQueue.visible + deliveryQueue.inFlight + deliveryQueue.delayed : 0;
      // The dispatcher disables an endpoint as it gives a delivery up: the DLQ is peeked only when one is disabled.
      const deadLetterQueue = pairs.some(({ endpoint }) => endpoint.status !== 'enabled') ? queues.find((queue) => queue.label === 'WebhookDlq') : undefined;
      const dead = deadLetterQueue ? await this.deadLetterTool().messagesOf(deadLetterQueue, 100) : [];
      givenUp = dead.flatMap((message) => {
        const body = parseJsonObject(message.body);
        if (typeof body?.eventId !== 'string' || typeof body.endpointId !== 'string') return [];
        return [{
          eventId: body.eventId,
          endpointId: body.endpointId,
          attempts: Number(body.attempt ?? 0),
          ...(typeof body.firstScheduledAt === 'number' ? { firstScheduledAt: body.firstScheduledAt * 1000 } : {}),
          ...(typeof body.lastStatus === 'number' ? { lastStatus: body.lastStatus } : {}),
          ...(typeof body.lastError === 'string' ? { lastError: body.lastError.slice(0, 300) } : {}),
          gaveUpAt: message.sentAt || Number(body.gaveUpAt ?? 0) * 1000,
        }];
      });
    }
    const deliveries = pairs.map(({ event, endpoint }): WebhookDeliveryView => {
      const base = { eventId: event.id, eventType: event.type, eventAt: event.at, endpointId: endpoint.id, url: endpoint.url };
      const dead = givenUp.find((entry) => entry.eventId === event.id && entry.endpointId === endpoint.id);
      if (dead) {
        const last = dead.lastStatus !== undefined ? `HTTP ${dead.lastStatus}` : dead.lastError ?? 'no answer';
        return {
          ...base,
          state: 'given_up',
          summary: `✗ given up after ${dead.attempts} attempt(s), the last one answered ${last}; no next retry (the retry window is over): in the webhook DLQ, the endpoint disabled`,
          attempts: dead.attempts,
          ...(dead.firstScheduledAt !== undefined ? { firstAttemptAt: dead.firstScheduledAt } : {}),
          lastAttemptAt: dead.gaveUpAt,
          ...(dead.lastStatus !== undefined ? { lastStatus: dead.lastStatus } : {}),
          ...(dead.lastError !== undefined ? { lastError: dead.lastError } : {}),
          gaveUpAt: dead.gaveUpAt,
        };
      }
      if (endpoint.status !== 'enabled') {
        const disabledAt = Math.min(...givenUp.filter((entry) => entry.endpointId === endpoint.id).map((entry) => entry.gaveUpAt));
        if (Number.isFinite(disabledAt) && event.at >= disabledAt) {
          return { ...base, state: 'not_sent', summary: `— not sent: the endpoint was disabled at ${new Date(disabledAt).toISOString()} (a delivery to it was given up)` };
        }
        return { ...base, state: 'unknown', summary: `? not recorded: the endpoint is disabled (${endpoint.disabledReason ?? 'no reason kept'}); this event reached it before, or was dropped when it was disabled` };
      }
      if (queued > 0) {
        return { ...base, state: 'in_progress', summary: `… being delivered or waiting for a retry: the delivery queue holds ${queued} message(s) (each attempt's status and next retry live only there)` };
      }
      return { ...base, state: 'delivered', summary: '✓ delivered (a 2xx) — inferred: no delivery is queued any more and none of this event to this endpoint was given up' };
    });
    return {
      endpoints: endpoints.map(({ created: _created, ...endpoint }) => endpoint),
      events,
      deliveries,
      truncated,
      note:
        'Webhook attempts are not stored one by one: a failed attempt lives only in the delivery queue\'s next message (its status or error and the retry\'s time), ' +
        'which the console does not read (a read is a receive); a delivery given up is in the webhook DLQ with its attempt count and last answer. ' +
        'A 2xx ends a delivery without a trace: "delivered" is inferred from an empty delivery queue.',
    };
  }

  private async processorCalls(paymentId: string, refundIds: string[]) {
    const keys = [...['authorize', 'capture', 'void'].map((operation) => `${paymentId}:${operation}`), ...refundIds.map((id) => `${id}:refund`)];
    const table = this.output('ProcessorTableName');
    const calls: Item[] = [];
    for (let index = 0; index < keys.length; index += 100) {
      const { Responses = {} } = await this.clients.dynamodb.send(new BatchGetCommand({ RequestItems: { [table]: { Keys: keys.slice(index, index + 100).map((key) => ({ key })) } } }));
      calls.push(...(Responses[table] ?? []));
    }
    return calls
      .map((call) => ({ key: call.key, operation: call.operation, outcome: call.outcome, failureCode: call.failureCode, failureType: call.failureType, amount: call.amount, currency: call.currency, createdAt: call.createdAt }))
      .sort((a, b) => String(a.createdAt).localeCompare(String(b.createdAt)));
  }

  /** The outbox: the Payments table's stream records of one partition, read (and kept) from every shard. */
  private async streamRecordsOf(partitionKey: string) {
    await this.readStream();
    const records: Array<{ eventId: string; eventName: string; sortKey: string; entity?: string; before?: string; after?: string; at: number }> = [];
    for (const shard of this.streamCache.values()) {
      for (const record of shard.records) {
        const keys = record.dynamodb?.Keys;
        if (keys?.PK?.S !== partitionKey) continue;
        const newImage = record.dynamodb?.NewImage ? unmarshall(record.dynamodb.NewImage as never) : undefined;
        const oldImage = record.dynamodb?.OldImage ? unmarshall(record.dynamodb.OldImage as never) : undefined;
        const at = time(newImage?.updatedAt ?? newImage?.createdAt) || secondsToMs(record.dynamodb?.ApproximateCreationDateTime) || 0;
        records.push({ eventId: record.eventID ?? '', eventName: record.eventName ?? '', sortKey: keys.SK?.S ?? '', entity: (newImage ?? oldImage)?.entity, before: oldImage?.status, after: newImage?.status, at });
      }
    }
    return records.sort((a, b) => a.at - b.at);
  }

  private async readStream(): Promise<void> {
    const streams = this.clients.streams;
    this.streamArn ??= (await this.clients.dynamodb.send(new DescribeTableCommand({ TableName: this.output('PaymentsTableName') }))).Table?.LatestStreamArn;
    if (!this.streamArn) throw new Error('the Payments table has no stream');
    const { StreamDescription } = await streams.send(new DescribeStreamCommand({ StreamArn: this.streamArn }));
    for (const shard of StreamDescription?.Shards ?? []) {
      const id = shard.ShardId!;
      let cached = this.streamCache.get(id);
      if (!cached) {
        const { ShardIterator } = await streams.send(new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: id, ShardIteratorType: 'TRIM_HORIZON' }));
        cached = { iterator: ShardIterator, records: [], closed: false };
        this.streamCache.set(id, cached);
      }
      // Read until the shard is caught up (an empty page) or closed; at most 50 pages per look.
      for (let page = 0; page < 50 && cached.iterator && !cached.closed; page += 1) {
        const { Records = [], NextShardIterator } = await streams.send(new GetRecordsCommand({ ShardIterator: cached.iterator }));
        cached.records.push(...Records);
        if (!NextShardIterator) cached.closed = true;
        else cached.iterator = NextShardIterator;
        if (Records.length === 0) break;
      }
    }
  }

  private async execution(saga: 'payment' | 'refund', stateMachineArn: string, name: string, refundId?: string): Promise<ExecutionView | undefined> {
    const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
    let described;
    try {
      described = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    } catch (error) {
      if ((error as Error).name === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
    const graph = await this.graph(stateMachineArn).catch(() => undefined);
    const view: ExecutionView = {
      saga,
      ...(refundId ? { refundId } : {}),
      name,
      executionArn,
      status: described.status ?? 'UNKNOWN',
      startDate: secondsToMs(described.startDate),
      stopDate: secondsToMs(described.stopDate),
      error: described.error,
      cause: described.cause,
      graph,
      visits: [],
      historyAvailable: false,
    };
    try {
      const events: HistoryEvent[] = [];
      let nextToken: string | undefined;
      do {
        const page = await this.clients.sfn.send(new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken }));
        events.push(...(page.events ?? []));
        nextToken = page.nextToken;
      } while (nextToken);
      view.visits = visitsOf(events, graph);
      view.historyAvailable = true;
    } catch (error) {
      view.note = `No history: ${(error as Error).name}: ${(error as Error).message}`;
    }
    return view;
  }

  private async graph(stateMachineArn: string): Promise<StateGraph> {
    const cached = this.graphs.get(stateMachineArn);
    if (cached) return cached;
    const { definition } = await this.clients.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }));
    const graph = stateGraph(JSON.parse(definition ?? '{}'));
    this.graphs.set(stateMachineArn, graph);
    return graph;
  }

  // ---------------------------------------------------------------- queues and dead letters

  private deadLetterTool(): DeadLetters {
    this.deadLettersTool ??= new DeadLetters(this.clients, this.stack.outputs);
    return this.deadLettersTool;
  }

  /** Every queue of the outputs (tools/dlq), sampled for the depth history. */
  async queues(): Promise<QueueInfo[]> {
    const queues = await this.deadLetterTool().queues();
    const sample = { at: Date.now(), depths: Object.fromEntries(queues.map((queue) => [queue.label, queue.visible + queue.inFlight + queue.delayed])) };
    this.depthSamples.push(sample);
    while (this.depthSamples.length > 0 && this.depthSamples[0]!.at < Date.now() - 15 * 60_000) this.depthSamples.shift();
    return queues;
  }

  depthHistory() {
    return this.depthSamples;
  }

  /** The messages of every dead-letter queue (up to 50 each), each with why it is there and what a redrive does (tools/dlq). */
  async deadLetters() {
    const listed = await this.deadLetterTool().list();
    return listed.map(({ queue, messages }) => ({
      label: queue.label,
      name: queue.name,
      depth: queue.visible + queue.inFlight,
      redrivable: REDRIVABLE_KINDS.has(queue.kind),
      messages: messages.map((message) => ({ ...message, body: message.body.slice(0, 2000) })),
    }));
  }

  /** Redrives one dead message through the same idempotent path as `npm run dlq -- redrive` (tools/dlq). */
  async redrive(queueLabel: string, messageId: string): Promise<{ redrivenTo: string }> {
    const report = await this.deadLetterTool().redrive(queueLabel, messageId);
    const done = report.redriven.find((entry) => entry.messageId === messageId);
    if (done) return { redrivenTo: done.to };
    const skipped = report.skipped.find((entry) => entry.messageId === messageId);
    throw new Error(skipped ? `Not redriven: ${skipped.why}` : `Message ${messageId} is not (or no longer) in ${queueLabel}`);
  }

  // ---------------------------------------------------------------- health

  /**
   * The processor's circuit breaker, from its table (output CircuitBreakerTableName): item `processor` holds its
   * generation and `openedUntil` (open while in the future, half-open after, closed when absent) and `probeUntil`;
   * items `processor#failures#<generation>#<window start>` count transient failures per window.
   */
  async circuitBreaker(now = Date.now()): Promise<CircuitBreakerView | undefined> {
    const tableName = this.stack.outputs.CircuitBreakerTableName;
    if (!tableName) return undefined;
    const { Item } = await this.clients.dynamodb.send(new GetCommand({ TableName: tableName, Key: { key: 'processor' }, ConsistentRead: true }));
    const generation = typeof Item?.generation === 'number' ? Item.generation : 0;
    const openedUntil = typeof Item?.openedUntil === 'number' ? Item.openedUntil : undefined;
    const probeUntil = typeof Item?.probeUntil === 'number' ? Item.probeUntil : undefined;
    const position = openedUntil === undefined ? 'closed' : now < openedUntil ? 'open' : 'half-open';
    const { Items = [] } = await this.clients.dynamodb.send(
      new ScanCommand({ TableName: tableName, FilterExpression: 'begins_with(#key, :prefix)', ExpressionAttributeNames: { '#key': 'key' }, ExpressionAttributeValues: { ':prefix': `processor#failures#${generation}#` } }),
    );
    const windows = Items.map((item) => ({ windowStart: Number(String(item.key).split('#').pop()), failures: Number(item.failures ?? 0) })).sort((a, b) => b.windowStart - a.windowStart);
    return {
      tableName,
      position,
      generation,
      ...(openedUntil !== undefined ? { openedUntil } : {}),
      ...(probeUntil !== undefined && probeUntil > now ? { probeUntil } : {}),
      failuresInLatestWindow: windows[0]?.failures ?? 0,
      ...(windows[0] ? { latestWindowStart: windows[0].windowStart } : {}),
    };
  }

  /**
   * The daily reconciliation's newest report (issue 12; output DailyReportsTableName): the reports table has one
   * partition per day (`REPORT` and a `FINDING#<paymentId>` per recovered payment or discrepancy), so the days
   * with a report are a scan of it (at most 10 pages) and the newest day's report is one Query.
   */
  async dailyReport(): Promise<DailyReportView | undefined> {
    const tableName = this.stack.outputs.DailyReportsTableName;
    if (!tableName) return undefined;
    const days: string[] = [];
    let startKey: Record<string, unknown> | undefined;
    let pages = 0;
    do {
      const page = await this.clients.dynamodb.send(
        new ScanCommand({
          TableName: tableName,
          FilterExpression: '#item = :report',
          ProjectionExpression: '#day',
          ExpressionAttributeNames: { '#item': 'item', '#day': 'day' },
          ExpressionAttributeValues: { ':report': 'REPORT' },
          ExclusiveStartKey: startKey,
        }),
      );
      days.push(...(page.Items ?? []).map((item) => String(item.day)));
      startKey = page.LastEvaluatedKey;
      pages += 1;
    } while (startKey && pages < MAX_SCAN_PAGES);
    const newest = days.sort().at(-1);
    if (!newest) return { tableName, days: 0 };
    const report = await readDailyReport(this.clients.dynamodb, tableName, newest);
    const discrepancies = Object.values(report.counts?.discrepancies ?? {}).reduce((sum, count) => sum + count, 0);
    return { tableName, days: days.length, report: { ...report, findings: report.findings.slice(0, 50), discrepancies } };
  }

  async health() {
    const scanned = await this.scanPayments();
    const [{ payments }, queues, failedExecutions, breaker, dailyReport] = await Promise.all([
      this.payments({}, scanned),
      this.queues(),
      this.failedExecutions(),
      this.circuitBreaker(),
      this.dailyReport().catch((error: unknown) => ({ error: String(error instanceof Error ? error.message : error) })),
    ]);
    const now = Date.now();
    const openRefunds: OpenRefundRow[] = scanned.items
      .filter((item) => item.entity === 'refund' && item.status === 'pending')
      .map((item) => ({
        id: item.id,
        paymentId: item.paymentId,
        amount: item.amount,
        currency: item.currency,
        createdAt: item.createdAt,
        ageMs: now - time(item.createdAt),
        ...(item.reconciliationFlaggedAt ? { flaggedAt: String(item.reconciliationFlaggedAt) } : {}),
      }))
      .sort((a, b) => b.ageMs - a.ageMs || a.id.localeCompare(b.id));
    const stuckRefunds = openRefunds.filter((refund) => refund.ageMs > STUCK_AFTER_MS);
    const oldestRefund = openRefunds[0];
    const report = dailyReport && 'tableName' in dailyReport ? dailyReport : undefined;
    const minutes = 15;
    const buckets = Array.from({ length: minutes }, (_, index) => {
      const start = Math.floor(now / 60_000) * 60_000 - (minutes - 1 - index) * 60_000;
      const created = payments.filter((payment) => time(payment.createdAt) >= start && time(payment.createdAt) < start + 60_000);
      const terminated = payments.filter((payment) => payment.terminalAt && time(payment.terminalAt) >= start && time(payment.terminalAt) < start + 60_000);
      const durations = terminated.map((payment) => payment.timeToTerminalMs!).sort((a, b) => a - b);
      return { start, created: created.length, terminal: terminated.length, p50Ms: percentile(durations, 0.5), p95Ms: percentile(durations, 0.95) };
    });
    const stuck = payments.filter((payment) => !payment.terminalAt && now - time(payment.createdAt) > STUCK_AFTER_MS);
    const oldestOpen = payments.filter((payment) => !payment.terminalAt).reduce<PaymentRow | undefined>((oldest, payment) => (!oldest || payment.createdAt < oldest.createdAt ? payment : oldest), undefined);
    const oldestOpenAgeMs = oldestOpen ? now - time(oldestOpen.createdAt) : 0;
    const alarms = [
      ...queues
        .filter((queue) => queue.deadLetter)
        .map((queue) => ({ name: `${queue.label} depth > 0`, firing: queue.visible + queue.inFlight > 0, detail: `${queue.visible + queue.inFlight} message(s) in ${queue.name}` })),
      { name: 'Saga executions failed, timed out or aborted (last hour)', firing: failedExecutions.length > 0, detail: failedExecutions.length > 0 ? failedExecutions.slice(0, 5).map((execution) => `${execution.name} ${execution.status}`).join(', ') : 'none' },
      { name: 'Payments not terminal after 15 minutes (reconciliation restarts them)', firing: stuck.length > 0, detail: stuck.length > 0 ? stuck.slice(0, 5).map((payment) => payment.id).join(', ') : 'none' },
      {
        name: 'OldestOpenPaymentAge: a payment open over 30 minutes',
        firing: oldestOpenAgeMs > MAX_OPEN_AGE_MS,
        detail: oldestOpen ? `oldest open: ${oldestOpen.id}, ${ageText(oldestOpenAgeMs)}` : 'none open',
      },
      {
        name: 'Refunds not terminal after 15 minutes (reconciliation restarts them)',
        firing: stuckRefunds.length > 0,
        detail: stuckRefunds.length > 0 ? stuckRefunds.slice(0, 5).map((refund) => `${refund.id} (${ageText(refund.ageMs)})`).join(', ') : 'none',
      },
      {
        name: 'OldestOpenRefundAge: a refund open over 30 minutes',
        firing: (oldestRefund?.ageMs ?? 0) > MAX_OPEN_AGE_MS,
        detail: oldestRefund
          ? `oldest open: ${oldestRefund.id} of ${oldestRefund.paymentId}, ${ageText(oldestRefund.ageMs)}${oldestRefund.flaggedAt ? ` · handed to an operator by reconciliation at ${oldestRefund.flaggedAt}` : ''}`
          : 'none open',
      },
      ...(report
        ? [{
            name: 'ReconciliationDiscrepancies: the last daily reconciliation found discrepancies',
            firing: (report.report?.discrepancies ?? 0) > 0,
            detail: !report.report ? 'no report yet' : `${report.report.discrepancies} on ${report.report.day}`,
          }]
        : []),
      ...(breaker
        ? [{
            name: 'ProcessorCircuitOpen: the processor circuit breaker is open',
            firing: breaker.position === 'open',
            detail: `${breaker.position}${breaker.openedUntil !== undefined ? ` (opened until ${new Date(breaker.openedUntil).toISOString()})` : ''} · ${breaker.failuresInLatestWindow} failure(s) in its latest window`,
          }]
        : []),
    ];
    return {
      buckets,
      alarms,
      breaker,
      dailyReport: report,
      ...(dailyReport && 'error' in dailyReport ? { dailyReportNote: `The daily reports could not be read: ${dailyReport.error}` } : {}),
      depthHistory: this.depthSamples,
      open: payments.filter((payment) => !payment.terminalAt).length,
      total: payments.length,
      openRefunds: openRefunds.length,
      oldestOpenRefundAgeMs: oldestRefund?.ageMs,
    };
  }

  private async failedExecutions() {
    const since = Date.now() - 60 * 60_000;
    const results: Array<{ name: string; status: string }> = [];
    for (const arn of [this.output('PaymentSagaArn'), this.output('RefundSagaArn')]) {
      for (const statusFilter of ['FAILED', 'TIMED_OUT', 'ABORTED'] as const) {
        const { executions = [] } = await this.clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: arn, statusFilter, maxResults: 100 }));
        for (const execution of executions) if ((execution.stopDate?.getTime() ?? execution.startDate?.getTime() ?? 0) >= since) results.push({ name: execution.name!, status: execution.status! });
      }
    }
    return results;
  }
}

function ageText(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  return seconds < 120 ? `${seconds} s` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
}

function percentile(sorted: number[], fraction: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)];
}

export { whyDead } from '../dlq/dead-letters.ts';

/** The states of an ASL definition and their edges (top level; the sagas have no Parallel or Map). */
export function stateGraph(definition: { StartAt?: string; States?: Record<string, any> }): StateGraph {
  return {
    startAt: definition.StartAt ?? '',
    states: Object.entries(definition.States ?? {}).map(([name, state]) => ({
      name,
      type: state.Type,
      ...(state.Comment ? { comment: String(state.Comment) } : {}),
      retries: Array.isArray(state.Retry) && state.Retry.length > 0,
      next: [
        ...(state.Next ? [{ to: state.Next as string, kind: 'next' as const }] : []),
        ...((state.Choices ?? []) as Array<{ Next: string }>).map((choice) => ({ to: choice.Next, kind: 'choice' as const })),
        ...(state.Default ? [{ to: state.Default as string, kind: 'default' as const }] : []),
        ...((state.Catch ?? []) as Array<{ Next: string }>).map((caught) => ({ to: caught.Next, kind: 'catch' as const })),
      ],
    })),
  };
}

const FAILURE_EVENT = /(Failed|TimedOut)$/;

/** A Lambda error's cause is its JSON (errorType, errorMessage, trace): keep the message, drop the trace. */
function causeSummary(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage.slice(0, 300);
  } catch {
    // not JSON: the cause as it is
  }
  return cause.slice(0, 300);
}

/** The state a processor call or a posting is made in (the sagas' names): its step is never drawn before that state's. */
const STATE_OF: Record<string, RegExp> = {
  authorize: /Authori[sz]e/,
  capture: /^Capture/,
  void: /Void/,
  refund: /Refund(AtProcessor|Capture)/,
  'posting:capture': /^PostLedger/,
  'posting:refund': /PostRefundLedger/,
};

function notBeforeItsState(at: number, key: string, executions: Array<ExecutionView | undefined>): number {
  const pattern = STATE_OF[key];
  if (!pattern) return at;
  const entered = executions.flatMap((execution) => execution?.visits ?? []).filter((visit) => pattern.test(visit.name)).map((visit) => visit.enteredAt).filter((time) => time <= at + 1000);
  return entered.length > 0 ? Math.max(at, Math.max(...entered)) : at;
}

/** The states an execution went through, in order, from its history (AWS's event shapes; the twin serves the same). */
export function visitsOf(events: HistoryEvent[], graph?: StateGraph): StateVisit[] {
  const visits: StateVisit[] = [];
  let current: StateVisit | undefined;
  for (const event of events) {
    const at = event.timestamp instanceof Date ? event.timestamp.getTime() : Number(event.timestamp ?? 0);
    const type = event.type ?? '';
    if (type.endsWith('StateEntered') && event.stateEnteredEventDetails?.name) {
      const name = event.stateEnteredEventDetails.name;
      current = { name, type: type.replace(/StateEntered$/, '') || (graph?.states.find((state) => state.name === name)?.type ?? ''), enteredAt: at, failures: [], retries: 0, failed: false };
      visits.push(current);
    } else if (type.endsWith('StateExited') && current) {
      current.exitedAt = at;
    } else if (FAILURE_EVENT.test(type) && !type.startsWith('Execution') && current) {
      const details = Object.entries(event).find(([key, value]) => key.endsWith('EventDetails') && value && typeof value === 'object')?.[1] as { error?: string; cause?: string } | undefined;
      current.failures.push({ error: details?.error, cause: causeSummary(details?.cause), at });
    }
  }
  visits.forEach((visit, index) => {
    if (visit.failures.length === 0) return;
    // Failed there: the next state is reached by a Catch (and not by the state's own Next or a Choice), or
    // nothing follows and the state never exited. Any other failure of the visit was retried.
    const next = visits[index + 1]?.name;
    const edges = graph?.states.find((state) => state.name === visit.name)?.next ?? [];
    const caught = next !== undefined && edges.some((edge) => edge.to === next && edge.kind === 'catch') && !edges.some((edge) => edge.to === next && edge.kind !== 'catch');
    visit.failed = caught || (next === undefined && visit.exitedAt === undefined);
    visit.retries = visit.failed ? visit.failures.length - 1 : visit.failures.length;
  });
  return visits;
}

function timeline(
  payment: PaymentRow,
  paymentItem: Item,
  refunds: Item[],
  postings: Array<{ kind: string; sortKey: string; createdAt: string; currency: string; lines: Array<{ account: string; debit: number; credit: number }> }>,
  processorCalls: Array<{ key: string; operation: string; outcome: string; failureCode?: string; amount?: number; createdAt: string }>,
  outbox: Array<{ eventId: string; eventName: string; sortKey: string; entity?: string; before?: string; after?: string; at: number }>,
  executions: Array<ExecutionView | undefined>,
  webhooks?: WebhooksView,
): TimelineStep[] {
  const steps: Array<TimelineStep & { rank: number }> = [];
  const add = (rank: number, step: TimelineStep) => steps.push({ ...step, rank });
  const requestIdOf = (item: Item) => (typeof item.requestId === 'string' && item.requestId !== '' ? { requestId: item.requestId as string } : {});
  // The request id itself is the step's `requestId` (the page shows it apart, as code).
  const requestPart = (item: Item) => (item.requestId ? 'x-amzn-RequestId of the POST' : 'no request id stored (created before request ids were kept)');
  add(0, {
    at: time(payment.createdAt),
    kind: 'request',
    title: 'API request: POST /v1/payments → 201 pending',
    detail: `${requestPart(paymentItem)} · merchant ${payment.merchant} · ${formatAmount(payment.amount, payment.currency)} · source ${payment.source}${paymentItem.description ? ` · “${String(paymentItem.description).slice(0, 80)}”` : ''} (the Idempotency-Key is stored only as a hash)`,
    ...requestIdOf(paymentItem),
  });
  for (const refund of refunds) {
    add(0, { at: time(refund.createdAt), kind: 'request', title: `API request: POST /v1/payments/${payment.id}/refunds → 201 pending`, detail: `${requestPart(refund)} · refund ${refund.id} · ${formatAmount(refund.amount, payment.currency)}`, ...requestIdOf(refund) });
  }
  for (const record of outbox) {
    const change = record.before === record.after ? (record.after ?? '') : `${record.before ?? '∅'} → ${record.after ?? '∅'}`;
    add(1, { at: record.at, kind: 'outbox', title: `Outbox record: ${record.eventName} ${record.entity ?? record.sortKey} ${change}`, detail: `stream eventID ${record.eventId}` });
    if ((record.entity === 'payment' || record.entity === 'refund') && record.before !== record.after && record.eventName !== 'REMOVE') {
      const eventType = `${record.entity}.${record.after === 'pending' ? 'created' : record.after}`;
      add(2, { at: record.at, kind: 'queue', title: `Queue message: ${eventType} on the events FIFO queue`, detail: `group ${payment.id} · deduplication id ${record.eventId}` });
    }
  }
  for (const event of webhooks?.events ?? []) {
    const deliveries = webhooks!.deliveries.filter((delivery) => delivery.eventId === event.id);
    if (deliveries.length === 0) add(2, { at: event.at, kind: 'webhook', title: `Merchant event ${event.type} recorded: no webhook endpoint wants it`, detail: `event ${event.id}` });
    for (const delivery of deliveries) {
      const attempts = delivery.state === 'given_up' ? `first attempt ${clockOf(delivery.firstAttemptAt)}, last ${clockOf(delivery.lastAttemptAt)} · ` : '';
      add(2, {
        at: event.at,
        kind: 'webhook',
        title: `Webhook ${event.type} → ${delivery.url}: ${DELIVERY_STATE[delivery.state]}`,
        detail: `event ${event.id} · endpoint ${delivery.endpointId} · ${attempts}${delivery.summary}`,
        ...(delivery.state === 'given_up' ? { flag: 'error' as const } : delivery.state === 'in_progress' ? { flag: 'retry' as const } : {}),
      });
      if (delivery.state === 'given_up' && delivery.gaveUpAt) {
        add(9, {
          at: delivery.gaveUpAt,
          kind: 'webhook',
          title: `Webhook ${event.type} → ${delivery.url}: given up after ${delivery.attempts} attempt(s), last ${delivery.lastStatus !== undefined ? `HTTP ${delivery.lastStatus}` : delivery.lastError ?? 'no answer'}`,
          detail: 'moved to the webhook DLQ; the endpoint disabled; no next retry',
          flag: 'error',
        });
      }
    }
  }
  for (const execution of executions) {
    if (!execution) continue;
    add(3, {
      at: Math.min(execution.startDate ?? Infinity, ...execution.visits.map((visit) => visit.enteredAt)),
      kind: 'saga',
      title: `Saga started: ${execution.name} (${execution.saga === 'payment' ? 'PaymentSaga' : 'RefundSaga'})`,
      detail: `execution status ${execution.status}${execution.error ? ` · ${execution.error}` : ''}`,
      ...(execution.status === 'FAILED' || execution.status === 'TIMED_OUT' || execution.status === 'ABORTED' ? { flag: 'error' as const } : {}),
    });
    for (const visit of execution.visits) {
      const retried = visit.retries > 0 ? ` · retried ${visit.retries}×` : '';
      const failure = visit.failures.at(-1);
      add(4, {
        at: visit.enteredAt,
        kind: 'state',
        title: `State ${visit.name} (${visit.type})${visit.failed ? ' — failed' : ''}${retried}`,
        ...(failure ? { detail: visit.failures.map((entry) => `${entry.error ?? 'error'}${entry.cause ? `: ${entry.cause.slice(0, 160)}` : ''}`).join(' | ') } : {}),
        ...(visit.failed ? { flag: 'error' as const } : visit.retries > 0 ? { flag: 'retry' as const } : {}),
      });
    }
  }
  for (const call of processorCalls) {
    add(5, {
      at: notBeforeItsState(time(call.createdAt), call.operation, executions),
      kind: 'processor',
      title: `Processor call: ${call.operation} → ${call.outcome}${call.failureCode ? ` (${call.failureCode})` : ''}`,
      detail: `idempotency key ${call.key}${call.amount !== undefined ? ` · ${call.amount}` : ''}`,
      ...(call.outcome === 'failed' ? { flag: 'error' as const } : {}),
    });
  }
  for (const posting of postings) {
    add(6, {
      at: notBeforeItsState(time(posting.createdAt), `posting:${posting.kind}`, executions),
      kind: 'ledger',
      title: `Ledger posting: ${posting.kind} (${posting.sortKey})`,
      detail: posting.lines.map((line) => `${line.debit ? `Dr ${line.account} ${line.debit}` : `Cr ${line.account} ${line.credit}`}`).join(' · '),
    });
  }
  for (const refund of refunds) {
    // PostRefundLedger writes the refund's posting and its status in one transaction: never drawn before that posting.
    const postedAt = steps.filter((step) => step.kind === 'ledger' && step.title.includes(String(refund.id))).map((step) => step.at);
    if (refund.status !== 'pending') add(7, { at: Math.max(time(refund.updatedAt), ...postedAt), kind: 'refund', title: `Refund ${refund.id} ${refund.status}${refund.failureCode ? ` (${refund.failureCode})` : ''}`, ...(refund.status === 'failed' ? { flag: 'error' as const } : {}) });
  }
  if (payment.terminalAt) {
    add(8, { at: Math.max(time(payment.terminalAt), ...steps.filter((step) => step.kind === 'ledger' && step.title.includes('capture')).map((step) => step.at)), kind: 'status', title: `Payment ${payment.status === 'partially_refunded' || payment.status === 'refunded' ? 'succeeded' : payment.status}${payment.failureCode ? ` (${payment.failureCode})` : ''} in ${payment.timeToTerminalMs} ms`, ...(payment.status === 'failed' ? { flag: 'error' as const } : {}) });
  }
  return steps.sort((a, b) => a.at - b.at || a.rank - b.rank).map(({ rank: _rank, ...step }) => step);
}

const DELIVERY_STATE: Record<DeliveryState, string> = {
  delivered: '✓ delivered',
  in_progress: '… in progress',
  given_up: '✗ given up',
  not_sent: '— not sent (endpoint disabled)',
  unknown: '? not recorded (endpoint disabled)',
};

const clockOf = (ms: number | undefined) => (ms === undefined ? '?' : new Date(ms).toISOString().slice(11, 23));

/** An event id's time: `evt_` then 12 hex digits of milliseconds (lambdas/domain/webhooks.ts eventIdFor). */
export const eventTime = (eventId: string) => parseInt(eventId.slice(4, 16), 16);

/** A webhook URL as the console shows it: origin and path, never the query string or fragment (they may carry a token). */
export function displayUrl(text: string): string {
  try {
    const url = new URL(text);
    return `${url.origin}${url.pathname}${url.search || url.hash ? '?…' : ''}`;
  } catch {
    return '(not a URL)';
  }
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value = JSON.parse(text) as unknown;
    return value && typeof value === 'object' ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export function formatAmount(amount: number, currency: string): string {
  return `${(amount / 100).toFixed(2)} ${currency}`;
}
