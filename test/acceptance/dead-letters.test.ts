// Whatever fails for good is in a DLQ, visible, with enough to replay it (DESIGN §6): a poison
// message on the events queue ends up, unchanged, in the events DLQ the outputs name.
import { randomUUID } from 'node:crypto';
import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, describe, expect, it } from 'vitest';
import { eventually, output, sqsClient, stack } from './target.ts';

const sqs = sqsClient();
afterAll(() => sqs.destroy());

describe('a message the saga starter cannot process is dead-lettered by the events queue', () => {
  it('a malformed event sent to EventsQueueUrl appears in EventsDlqUrl, body unchanged', async () => {
    const marker = randomUUID();
    const body = `this is not a payment event ${marker}`;
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: output('EventsQueueUrl'),
        MessageBody: body,
        MessageGroupId: `poison-${marker}`,
        MessageDeduplicationId: marker,
      }),
    );

    const deadLetter = await eventually('the poison message in the events DLQ', stack().deadlines.dlqMs, async () => {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: output('EventsDlqUrl'),
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 1,
          VisibilityTimeout: 5,
          MessageSystemAttributeNames: ['All'],
        }),
      );
      return Messages.find((message) => message.Body === body);
    }, 500);

    expect(deadLetter.Body).toBe(body);
    expect(deadLetter.Attributes?.MessageGroupId).toBe(`poison-${marker}`);
    // It was delivered (and failed) before it was moved: the redrive policy, not a drop.
    expect(Number(deadLetter.Attributes?.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: output('EventsDlqUrl'), ReceiptHandle: deadLetter.ReceiptHandle! }));
  });
});
