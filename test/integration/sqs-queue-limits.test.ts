// The SQS adapter keeps every SendMessageBatch call within SQS's limits (10 entries, 1 MiB in all, FIFO
// included) on the twin's SQS, which refuses a call over either as SQS does (test/integration/runner-limits.test.ts):
// a batch of large events is split, never refused whole, and a message too large to send at all is refused for
// what it is (MessageRefused), so the relay dead-letters it instead of retrying its shard for hours.
import { randomUUID } from 'node:crypto';
import { CreateQueueCommand, GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { SqsQueue } from '../../lambdas/adapters/sqs-queue.ts';
import { MessageRefused, type OutgoingMessage } from '../../lambdas/ports/queues.ts';
import { sqsClient } from '../support/aws.ts';

const sqs = sqsClient();
afterAll(() => sqs.destroy());

async function fifoQueue(): Promise<string> {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `adapter-limits-${randomUUID().slice(0, 8)}.fifo`, Attributes: { FifoQueue: 'true' } }));
  return QueueUrl!;
}
const depth = async (queueUrl: string) =>
  Number((await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }))).Attributes!.ApproximateNumberOfMessages);
const event = (index: number, bytes: number): OutgoingMessage => ({
  key: `k${index}`,
  payload: { index, data: 'x'.repeat(bytes) },
  groupId: `payment-${index}`,
  deduplicationId: randomUUID(),
  attributes: { origin: 'test' },
});

describe('SqsQueue.send within SendMessageBatch limits', () => {
  it('sends 10 events of 300 KB (3 MB, over the 1 MiB a call may carry) and 23 small ones, none refused', async () => {
    const queueUrl = await fifoQueue();
    const failures = await new SqsQueue(queueUrl).send([...Array.from({ length: 10 }, (_, index) => event(index, 300 * 1024)), ...Array.from({ length: 23 }, (_, index) => event(10 + index, 100))]);
    expect([...failures.values()]).toEqual([]);
    expect(await depth(queueUrl)).toBe(33);
  });

  it('refuses a message over 1 MiB by itself as MessageRefused (BatchRequestTooLong) and sends the others', async () => {
    const queueUrl = await fifoQueue();
    const failures = await new SqsQueue(queueUrl).send([event(0, 1024 * 1024), event(1, 100), event(2, 500 * 1024)]);
    expect([...failures.keys()]).toEqual(['k0']);
    expect(failures.get('k0')).toBeInstanceOf(MessageRefused);
    expect(failures.get('k0')!.message).toMatch(/^BatchRequestTooLong: Batch requests cannot be longer than 1048576 bytes/);
    expect(await depth(queueUrl)).toBe(2);
  });
});
