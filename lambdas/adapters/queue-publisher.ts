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
      if (message) failures.set(message.key, new Error(`SQS refused the message: ${failed.Code ?? 'unknown'} ${failed.Message ?? ''}`.trim()));
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
 * group from that message in its original order.
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
      if (error) {
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
