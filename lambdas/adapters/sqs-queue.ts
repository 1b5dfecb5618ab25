import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { setting, type FunctionSetting } from '#commons/environment';
import { sqs } from '#commons/sqs';
import { MessageRefused, type OutboundQueue, type OutgoingMessage } from '#ports/queues';

/**
 * SendMessageBatch takes at most 10 entries and 1 MiB for all its messages together, FIFO queues included
 * (SendMessageBatch, Amazon SQS API Reference, checked 2026-12-01): a call over either is refused whole.
 */
const MAX_ENTRIES_PER_CALL = 10;
const MAX_BYTES_PER_CALL = 1024 * 1024;

/**
 * Characters SQS refuses in a message (it allows #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD |
 * #x10000–#x10FFFF, "SendMessage", Amazon SQS API Reference, read 2026-12-01). In JSON text they can
 * only stand inside strings, where a \uXXXX escape means the same character.
 */
const SQS_REFUSED_CHARACTER = /[^\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

/** JSON that SQS accepts whatever text the value holds: refused characters (U+FFFE, U+FFFF, lone surrogates) are escaped. */
export function toSqsJson(value: unknown): string {
  return JSON.stringify(value).replace(SQS_REFUSED_CHARACTER, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A message attribute value SQS accepts: refused characters become U+FFFD. */
const sqsText = (value: string) => value.replace(SQS_REFUSED_CHARACTER, '\uFFFD');

/** SQS failed one entry of a batch for a reason on its side (not the message's): retry later. */
export class MessageNotSent extends Error {
  override readonly name = 'MessageNotSent';
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`${code}: ${detail}`.trim());
  }
}

/** A message as SQS sends it, and its size as SQS counts it (the body plus each attribute's name, type and value). */
function toEntry(message: OutgoingMessage): { entry: Omit<SendMessageBatchRequestEntry, 'Id'>; bytes: number } {
  const body = toSqsJson(message.payload);
  const attributes = message.attributes ? Object.entries(message.attributes).map(([name, value]) => [name, sqsText(value)] as const) : undefined;
  const entry = {
    MessageBody: body,
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.deduplicationId,
    DelaySeconds: message.delaySeconds,
    MessageAttributes: attributes ? Object.fromEntries(attributes.map(([name, value]) => [name, { DataType: 'String', StringValue: value }])) : undefined,
  };
  const bytes = Buffer.byteLength(body) + (attributes ?? []).reduce((sum, [name, value]) => sum + Buffer.byteLength(name) + 'String'.length + Buffer.byteLength(value), 0);
  return { entry, bytes };
}

/** The messages of one SendMessageBatch call, with their entries. */
type Chunk = Array<{ message: OutgoingMessage; entry: Omit<SendMessageBatchRequestEntry, 'Id'> }>;

/** A queue on SQS, sent to with SendMessageBatch (at most ten entries and 1 MiB per call, the calls in parallel). */
export class SqsQueue implements OutboundQueue {
  constructor(private readonly queueUrl: string) {}

  async send(messages: readonly OutgoingMessage[]): Promise<Map<string, Error>> {
    const failures = new Map<string, Error>();
    const calls: Promise<void>[] = [];
    let chunk: Chunk = [];
    let chunkBytes = 0;
    for (const message of messages) {
      const { entry, bytes } = toEntry(message);
      if (chunk.length > 0 && (chunk.length === MAX_ENTRIES_PER_CALL || chunkBytes + bytes > MAX_BYTES_PER_CALL)) {
        calls.push(this.sendChunk(chunk, failures));
        chunk = [];
        chunkBytes = 0;
      }
      chunk.push({ message, entry });
      chunkBytes += bytes;
    }
    if (chunk.length > 0) calls.push(this.sendChunk(chunk, failures));
    await Promise.all(calls);
    return failures;
  }

  /**
   * Every round sends the oldest unsent message of each group, so one SendMessageBatch call never
   * holds two messages of a group and cannot accept a later one while refusing an earlier one.
   */
  async sendInGroupOrder(messages: readonly OutgoingMessage[]): Promise<Map<string, Error>> {
    const groups = new Map<string, OutgoingMessage[]>();
    for (const message of messages) {
      const group = message.groupId ?? message.key;
      const queue = groups.get(group);
      if (queue) queue.push(message);
      else groups.set(group, [message]);
    }
    const failures = new Map<string, Error>();
    while (groups.size > 0) {
      const heads = [...groups.values()].map((queue) => queue[0]!);
      const roundFailures = await this.send(heads);
      for (const [group, queue] of groups) {
        const head = queue.shift()!;
        const error = roundFailures.get(head.key);
        if (error) failures.set(head.key, error);
        if (error && !(error instanceof MessageRefused)) {
          for (const later of queue) failures.set(later.key, new Error(`not sent: an earlier message of group ${group} failed`));
          groups.delete(group);
        } else if (queue.length === 0) {
          groups.delete(group);
        }
      }
    }
    return failures;
  }

  private async sendChunk(chunk: Chunk, failures: Map<string, Error>): Promise<void> {
    try {
      const entries = chunk.map(({ entry }, index): SendMessageBatchRequestEntry => ({ Id: String(index), ...entry }));
      const result = await sqs().send(new SendMessageBatchCommand({ QueueUrl: this.queueUrl, Entries: entries }));
      for (const failed of result.Failed ?? []) {
        const message = chunk[Number(failed.Id)]?.message;
        if (!message) continue;
        // A sender fault is SQS refusing the message itself (InvalidMessageContents, over the size limit).
        const error = failed.SenderFault ? new MessageRefused(failed.Code ?? 'Unknown', failed.Message ?? '') : new MessageNotSent(failed.Code ?? 'Unknown', failed.Message ?? '');
        failures.set(message.key, error);
      }
    } catch (error) {
      // A message over 1 MiB by itself is a call over the batch limit: refused for what it is, never sendable.
      const refused = chunk.length === 1 && error instanceof Error && error.name === 'BatchRequestTooLong' ? new MessageRefused(error.name, error.message) : undefined;
      for (const { message } of chunk) failures.set(message.key, refused ?? (error instanceof Error ? error : new Error(String(error))));
    }
  }
}

/** The queue whose URL the function's settings name. */
/**
 * The queue a setting names. `clientOnFirstUse`: the function sends to it only now and then (retries, dead
 * letters, a rare request), so the SQS client is made when it first does; otherwise now, at import.
 */
export function sqsQueueFromSettings(url: Extract<FunctionSetting, `${string}QueueUrl`>, { clientOnFirstUse = false } = {}): SqsQueue {
  if (!clientOnFirstUse) sqs();
  return new SqsQueue(setting(url));
}
