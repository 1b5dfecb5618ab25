import { SendMessageBatchCommand, type SendMessageBatchRequestEntry } from '@aws-sdk/client-sqs';
import { sqs } from '#commons/sqs';

/** One message to send; `key` identifies it to the caller (it is not sent). */
export interface OutgoingMessage {
  key: string;
  body: string;
  groupId?: string;
  deduplicationId?: string;
  attributes?: Record<string, string>;
}

const MAX_ENTRIES_PER_CALL = 10;

/**
 * SQS failed one entry of a batch. A sender fault (`InvalidMessageContents`, a message over the
 * queue's size limit) is SQS refusing the message itself: sending it again cannot succeed.
 */
export class MessageFailed extends Error {
  override readonly name = 'MessageFailed';
  constructor(
    readonly code: string,
    detail: string,
    readonly senderFault: boolean,
  ) {
    super(`${code}: ${detail}`.trim());
  }
}

export const isRefusedMessage = (error: Error): error is MessageFailed => error instanceof MessageFailed && error.senderFault;

/** The error's SQS code (a failed entry's, or the whole call's error name), for logs. */
export const errorCodeOf = (error: Error): string => (error instanceof MessageFailed ? error.code : error.name);

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

/**
 * Sends messages with SendMessageBatch, up to ten per call, the calls in parallel. Resolves to the
 * failed messages' keys with their errors (an empty map when all were accepted); never rejects, so
 * that a caller can report exactly which items failed.
 */
export async function sendMessages(queueUrl: string, messages: readonly OutgoingMessage[]): Promise<Map<string, Error>> {
  const failures = new Map<string, Error>();
  const calls: Promise<void>[] = [];
  for (let start = 0; start < messages.length; start += MAX_ENTRIES_PER_CALL) {
    calls.push(sendChunk(queueUrl, messages.slice(start, start + MAX_ENTRIES_PER_CALL), failures));
  }
  await Promise.all(calls);
  return failures;
}

async function sendChunk(queueUrl: string, chunk: readonly OutgoingMessage[], failures: Map<string, Error>): Promise<void> {
  const entries: SendMessageBatchRequestEntry[] = chunk.map((message, index) => ({
    Id: String(index),
    MessageBody: message.body,
    MessageGroupId: message.groupId,
    MessageDeduplicationId: message.deduplicationId,
    MessageAttributes: message.attributes
      ? Object.fromEntries(Object.entries(message.attributes).map(([name, value]) => [name, { DataType: 'String', StringValue: value }]))
      : undefined,
  }));
  try {
    const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    for (const failed of result.Failed ?? []) {
      const message = chunk[Number(failed.Id)];
      if (message) failures.set(message.key, new MessageFailed(failed.Code ?? 'Unknown', failed.Message ?? '', failed.SenderFault === true));
    }
  } catch (error) {
    for (const message of chunk) failures.set(message.key, error instanceof Error ? error : new Error(String(error)));
  }
}

/**
 * Sends messages so that, within a group, each one is sent only after the one before it was
 * accepted: every round sends the oldest unsent message of each group (so one SendMessageBatch call
 * never holds two messages of a group and cannot accept a later one while refusing an earlier one).
 * When a message fails, the rest of its group is not sent and fails with it, so a retry resends the
 * group from that message in its original order; a message SQS refused for what it is (a sender
 * fault) can never be sent, so it does not hold back the rest of its group.
 */
export async function sendInGroupOrder(queueUrl: string, messages: readonly OutgoingMessage[]): Promise<Map<string, Error>> {
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
    const roundFailures = await sendMessages(queueUrl, heads);
    for (const [group, queue] of groups) {
      const head = queue.shift()!;
      const error = roundFailures.get(head.key);
      if (error && isRefusedMessage(error)) {
        failures.set(head.key, error);
        if (queue.length === 0) groups.delete(group);
      } else if (error) {
        failures.set(head.key, error);
        for (const later of queue) failures.set(later.key, new Error(`not sent: an earlier message of group ${group} failed`));
        groups.delete(group);
      } else if (queue.length === 0) {
        groups.delete(group);
      }
    }
  }
  return failures;
}
