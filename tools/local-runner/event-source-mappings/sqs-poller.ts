import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SQSClient,
  type Message,
  type MessageAttributeValue,
} from '@aws-sdk/client-sqs';
import type { SQSEvent, SQSMessageAttributes, SQSRecord } from 'aws-lambda';
import { matchesFilterCriteria, reportedFailures, sleep, type EventSourceMappingProperties } from './mapping.ts';

/**
 * A local SQS event source mapping (fauxqs): long-polls a queue and invokes a function with Lambda's
 * SQSEvent, as Lambda does:
 * - up to BatchSize messages per invocation (gathering several receives for more than 10, within
 *   MaximumBatchingWindowInSeconds);
 * - FilterCriteria (on the record, `body` parsed as JSON when it is JSON): messages that do not match
 *   are deleted without an invocation;
 * - messages of a successful invocation are deleted; a function error leaves the whole batch, and with
 *   ReportBatchItemFailures only the reported messages are left (an identifier not in the batch fails
 *   the whole batch). What is left reappears after the queue's visibility timeout (or, on a sped-up twin,
 *   `visibilityAfterFailureSeconds`), so the queue's own RedrivePolicy moves a message that keeps failing
 *   to its dead-letter queue;
 * - on a FIFO queue, SQS itself holds back a message group while one of its messages is in flight.
 */
export interface SqsPollerOptions {
  /** The URL CreateQueue/GetQueueUrl returned (fauxqs looks queues up by exact URL). */
  queueUrl: string;
  mapping: EventSourceMappingProperties;
  invoke: (event: SQSEvent) => Promise<unknown>;
  /** Default: a client on AWS_ENDPOINT_URL_SQS. */
  sqs?: SQSClient;
  /** The records' eventSourceARN. Default: the queue's QueueArn attribute. */
  queueArn?: string;
  /** Long-poll wait per receive. Default 1 s (also the longest a stop() waits for a receive). */
  waitTimeSeconds?: number;
  /** Batches in flight at once. Default 1. */
  concurrency?: number;
  /**
   * For a queue whose visibility timeout stands longer than the (time-scaled) one it represents — the runner
   * keeps it at least the function's timeout, so that no message comes back while its invocation runs: a
   * message whose invocation failed is made visible again this many seconds after it was received
   * (ChangeMessageVisibility), as on AWS at that scale, instead of after the queue's longer timeout.
   * Default: the queue's own timeout, as Lambda leaves it.
   */
  visibilityAfterFailureSeconds?: number;
  /** Errors of the poller itself (not of the function). Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface SqsPollerStats {
  invocations: number;
  failedInvocations: number;
  /** Messages deleted after their invocation succeeded. */
  deleted: number;
  /** Messages deleted because FilterCriteria dropped them. */
  filteredOut: number;
}

export interface SqsPoller {
  readonly stats: Readonly<SqsPollerStats>;
  /** Resolves after a receive that began after this call found the queue empty (of visible messages). */
  idle(): Promise<void>;
  /** Stops polling; resolves once invocations in flight have returned. Leaves no timers. */
  stop(): Promise<void>;
}

const MAX_MESSAGES_PER_RECEIVE = 10;

export function startSqsPoller(options: SqsPollerOptions): SqsPoller {
  const { mapping, queueUrl } = options;
  const batchSize = mapping.BatchSize ?? 10;
  const batchingWindowMs = (mapping.MaximumBatchingWindowInSeconds ?? 0) * 1000;
  const waitTimeSeconds = options.waitTimeSeconds ?? 1;
  const onError = options.onError ?? ((error: unknown) => console.error('[sqs-poller]', error));
  const ownSqs = options.sqs ? undefined : new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS });
  const sqs = options.sqs ?? ownSqs!;
  const stats: SqsPollerStats = { invocations: 0, failedInvocations: 0, deleted: 0, filteredOut: 0 };
  const abort = new AbortController();
  let stopped = false;
  let receives = 0;
  const idleWaiters: Array<{ after: number; resolve: () => void }> = [];
  let queueArn: Promise<string> | undefined;
  const receivedAt = new WeakMap<Message, number>();

  const arnOfQueue = () =>
    (queueArn ??= options.queueArn
      ? Promise.resolve(options.queueArn)
      : sqs
          .send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
          .then(({ Attributes }) => Attributes?.QueueArn ?? queueUrl));

  async function receive(waitSeconds: number, max: number): Promise<Message[]> {
    const receiveNumber = ++receives;
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: Math.min(max, MAX_MESSAGES_PER_RECEIVE),
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
      { abortSignal: abort.signal },
    );
    const now = Date.now();
    for (const message of Messages) receivedAt.set(message, now);
    if (Messages.length === 0) {
      for (const waiter of idleWaiters.splice(0)) {
        if (waiter.after < receiveNumber) waiter.resolve();
        else idleWaiters.push(waiter);
      }
    }
    return Messages;
  }

  /**
   * Up to BatchSize messages: the first receive long-polls; more are gathered, without long polls,
   * for MaximumBatchingWindowInSeconds. A message received twice meanwhile (its visibility timeout
   * was shorter than the window) is kept once, with its latest receipt handle.
   */
  async function nextBatch(): Promise<Message[]> {
    const batch = await receive(waitTimeSeconds, batchSize);
    const deadline = Date.now() + batchingWindowMs;
    while (batch.length > 0 && batch.length < batchSize && !stopped && Date.now() < deadline) {
      const more = await receive(0, batchSize - batch.length);
      for (const message of more) {
        const index = batch.findIndex((held) => held.MessageId === message.MessageId);
        if (index === -1) batch.push(message);
        else batch[index] = message;
      }
      if (more.length === 0) await sleep(Math.min(100, Math.max(0, deadline - Date.now())), abort.signal);
    }
    return batch;
  }

  async function deleteMessages(messages: Message[]): Promise<void> {
    for (let start = 0; start < messages.length; start += MAX_MESSAGES_PER_RECEIVE) {
      const chunk = messages.slice(start, start + MAX_MESSAGES_PER_RECEIVE);
      const result = await sqs.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: chunk.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
        }),
      );
      if (result.Failed?.length) onError(new Error(`DeleteMessageBatch failed for ${result.Failed.length} message(s) of ${queueUrl}`));
    }
  }

  /** Failed messages back at `visibilityAfterFailureSeconds` from their receive; if that fails, the queue's timeout still applies. */
  async function returnOnTime(messages: Message[]): Promise<void> {
    const seconds = options.visibilityAfterFailureSeconds;
    if (seconds === undefined) return;
    const now = Date.now();
    for (let start = 0; start < messages.length; start += MAX_MESSAGES_PER_RECEIVE) {
      const chunk = messages.slice(start, start + MAX_MESSAGES_PER_RECEIVE);
      const entries = chunk.map((message, index) => ({
        Id: String(index),
        ReceiptHandle: message.ReceiptHandle,
        VisibilityTimeout: Math.max(0, Math.ceil(((receivedAt.get(message) ?? now) + seconds * 1000 - now) / 1000)),
      }));
      try {
        const result = await sqs.send(new ChangeMessageVisibilityBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
        // A message no longer in flight (its timeout ran out during a long invocation) is visible already: nothing to do.
        const failed = result.Failed?.filter((entry) => entry.Code !== 'ReceiptHandleIsInvalid' && entry.Code !== 'MessageNotInflight') ?? [];
        if (failed.length) onError(new Error(`ChangeMessageVisibilityBatch failed for ${failed.length} message(s) of ${queueUrl}: ${failed[0]!.Code}`));
      } catch (error) {
        onError(error);
      }
    }
  }

  async function handle(messages: Message[]): Promise<void> {
    const arn = await arnOfQueue();
    const records = messages.map((message) => toSqsRecord(message, arn));
    const selected: SQSRecord[] = [];
    const dropped: Message[] = [];
    records.forEach((record, index) => {
      if (matchesFilterCriteria(mapping.FilterCriteria, filterView(record))) selected.push(record);
      else dropped.push(messages[index]!);
    });
    if (dropped.length > 0) {
      await deleteMessages(dropped);
      stats.filteredOut += dropped.length;
    }
    if (selected.length === 0) return;

    stats.invocations += 1;
    let failed: Set<string> | 'all' | undefined;
    try {
      const response = await options.invoke({ Records: selected });
      failed = reportedFailures(mapping, response, new Set(selected.map((record) => record.messageId)));
    } catch {
      failed = 'all';
    }
    if (failed) stats.failedInvocations += 1;
    const byId = new Map(messages.map((message) => [message.MessageId, message]));
    if (failed) await returnOnTime(selected.filter((record) => failed === 'all' || failed?.has(record.messageId)).map((record) => byId.get(record.messageId)!));
    if (failed === 'all') return;
    const succeeded = selected.filter((record) => !failed?.has(record.messageId));
    await deleteMessages(succeeded.map((record) => byId.get(record.messageId)!));
    stats.deleted += succeeded.length;
  }

  async function worker(): Promise<void> {
    while (!stopped) {
      try {
        const messages = await nextBatch();
        if (messages.length > 0 && !stopped) await handle(messages);
      } catch (error) {
        if (stopped) break;
        onError(error);
        await sleep(500, abort.signal);
      }
    }
  }

  const workers = Array.from({ length: Math.max(1, options.concurrency ?? 1) }, () => worker());

  return {
    stats,
    idle: () => new Promise<void>((resolve) => idleWaiters.push({ after: receives, resolve })),
    async stop() {
      stopped = true;
      abort.abort();
      await Promise.all(workers);
      for (const waiter of idleWaiters.splice(0)) waiter.resolve();
      ownSqs?.destroy();
    },
  };
}

/** Lambda's SQS record for a received message. */
export function toSqsRecord(message: Message, queueArn: string): SQSRecord {
  const system = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? '',
    receiptHandle: message.ReceiptHandle ?? '',
    body: message.Body ?? '',
    attributes: {
      ApproximateReceiveCount: system.ApproximateReceiveCount ?? '1',
      SentTimestamp: system.SentTimestamp ?? String(Date.now()),
      SenderId: system.SenderId ?? 'local',
      ApproximateFirstReceiveTimestamp: system.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
      ...(system.MessageGroupId ? { MessageGroupId: system.MessageGroupId } : {}),
      ...(system.MessageDeduplicationId ? { MessageDeduplicationId: system.MessageDeduplicationId } : {}),
      ...(system.SequenceNumber ? { SequenceNumber: system.SequenceNumber } : {}),
      ...(system.AWSTraceHeader ? { AWSTraceHeader: system.AWSTraceHeader } : {}),
    },
    messageAttributes: toLambdaMessageAttributes(message.MessageAttributes ?? {}),
    md5OfBody: message.MD5OfBody ?? '',
    eventSource: 'aws:sqs',
    eventSourceARN: queueArn,
    awsRegion: queueArn.split(':')[3] || process.env.AWS_REGION || 'us-east-1',
  };
}

function toLambdaMessageAttributes(attributes: Record<string, MessageAttributeValue>): SQSMessageAttributes {
  return Object.fromEntries(
    Object.entries(attributes).map(([name, value]) => [
      name,
      {
        dataType: value.DataType ?? 'String',
        ...(value.StringValue !== undefined ? { stringValue: value.StringValue } : {}),
        ...(value.BinaryValue !== undefined ? { binaryValue: Buffer.from(value.BinaryValue).toString('base64') } : {}),
        stringListValues: value.StringListValues ?? [],
        binaryListValues: (value.BinaryListValues ?? []).map((bytes) => Buffer.from(bytes).toString('base64')),
      },
    ]),
  );
}

/** Lambda filters SQS records on their fields, with a JSON body matched as JSON. */
function filterView(record: SQSRecord): Record<string, unknown> {
  try {
    return { ...record, body: JSON.parse(record.body) };
  } catch {
    return { ...record };
  }
}
