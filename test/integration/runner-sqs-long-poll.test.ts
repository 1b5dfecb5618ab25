// The runner's SQS long polls (tools/local-runner/sqs/long-poll-timer.ts): on a quiet queue a waiting
// ReceiveMessage costs no 20 ms timer, and still gets a message the moment it becomes visible by itself (a
// visibility timeout that runs out, a delay that ends), not at the end of its wait; a queue with traffic
// keeps fauxqs's own timer.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../tools/local-runner/sqs/emulator.ts';
import { setQuietAfterMs } from '../../tools/local-runner/sqs/long-poll-timer.ts';

let server: FauxqsServer;
let sqs: SQSClient;
/** fauxqs's own queue class (the instance its server uses), to count how often its timer work runs. */
let SqsQueue: { prototype: { processTimers(): void } };

beforeAll(async () => {
  server = await startSqsEmulator({ port: 0, logger: false });
  sqs = new SQSClient({ endpoint: `http://127.0.0.1:${server.port}`, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const packageDir = (createRequire(import.meta.url).resolve.paths('fauxqs') ?? []).map((dir) => join(dir, 'fauxqs')).find((dir) => existsSync(join(dir, 'package.json')))!;
  ({ SqsQueue } = await import(pathToFileURL(join(packageDir, 'dist', 'sqs', 'sqsStore.js')).href));
});

afterEach(() => setQuietAfterMs(10_000));

afterAll(async () => {
  sqs.destroy();
  await server.stop();
});

let queues = 0;
async function queue(fifo: boolean): Promise<string> {
  const name = `long-poll-${++queues}${fifo ? '.fifo' : ''}`;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: fifo ? { FifoQueue: 'true' } : {} }));
  return QueueUrl!;
}

const send = (queueUrl: string, body: string, fifo: boolean, delaySeconds?: number) =>
  sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds, ...(fifo ? { MessageGroupId: 'g', MessageDeduplicationId: body } : {}) }));

/** How often fauxqs's timer work runs during `work`. */
async function timerRuns(work: () => Promise<void>): Promise<number> {
  const processTimers = SqsQueue.prototype.processTimers;
  let runs = 0;
  SqsQueue.prototype.processTimers = function (this: unknown) {
    runs += 1;
    return processTimers.call(this);
  };
  try {
    await work();
  } finally {
    SqsQueue.prototype.processTimers = processTimers;
  }
  return runs;
}

describe('SQS long polls on the runner', () => {
  it('a long poll on a quiet, empty queue runs no timer while it waits (fauxqs alone checks the queue every 20 ms)', async () => {
    const queueUrl = await queue(false);
    const runs = await timerRuns(async () => {
      const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
      expect(Messages ?? []).toEqual([]);
    });
    // Once before the wait and once after it, as every receive does; 50 more per second with fauxqs's interval.
    expect(runs).toBeLessThanOrEqual(2);
  });

  it('a queue with traffic in the last 10 s keeps fauxqs own 20 ms timer while a long poll waits', async () => {
    const queueUrl = await queue(false);
    await send(queueUrl, 'first', false);
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl }))).Messages).toHaveLength(1);
    const runs = await timerRuns(async () => {
      await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    });
    expect(runs).toBeGreaterThan(20);
  });

  it.each([false, true])('fifo %s: on a quiet queue, a message whose visibility timeout runs out during a 20 s long poll is received then, not at its end', async (fifo) => {
    setQuietAfterMs(0);
    const queueUrl = await queue(fifo);
    await send(queueUrl, 'm', fifo);
    const first = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, VisibilityTimeout: 1 }));
    expect(first.Messages).toHaveLength(1);
    const started = Date.now();
    const again = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
    expect(again.Messages?.map((message) => [message.Body, message.Attributes?.ApproximateReceiveCount])).toEqual([['m', '2']]);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('on a quiet queue, a delayed message sent while a 20 s long poll waits is received when its delay ends', async () => {
    setQuietAfterMs(0);
    const queueUrl = await queue(false);
    const started = Date.now();
    const receiving = sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 20 }));
    await new Promise((resolve) => setTimeout(resolve, 100));
    await send(queueUrl, 'later', false, 1);
    const { Messages } = await receiving;
    expect(Messages?.map((message) => message.Body)).toEqual(['later']);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(900);
    expect(elapsed).toBeLessThan(5_000);
  });
});
