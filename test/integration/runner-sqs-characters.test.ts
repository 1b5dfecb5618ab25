// The runner's SQS accepts exactly the characters real SQS accepts: #x9 | #xA | #xD | #x20–#xD7FF |
// #xE000–#xFFFD | #x10000–#x10FFFF, in bodies and string attribute values (fauxqs alone refuses every
// character outside the Basic Multilingual Plane, an emoji included, and checks no attribute value).
import { createHash } from 'node:crypto';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  InvalidMessageContents,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
  type Message,
} from '@aws-sdk/client-sqs';
import type { FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSqsEmulator } from '../../tools/local-runner/sqs/emulator.ts';

const ACCEPTED: Record<string, string> = {
  'U+1F600 (emoji)': '\u{1F600}',
  'U+10000': '\u{10000}',
  'U+10FFFF': '\u{10FFFF}',
  'U+E000': '\uE000',
  'U+FFFD': '\uFFFD',
  'U+D7FF': '\uD7FF',
  'U+0020': ' ',
  'tab, LF, CR': '\t\n\r',
  'a payment description': 'Café for two 🎉 — ½ price, 支付 ✓ 👩‍👩‍👧',
};
const REFUSED: Record<string, string> = {
  'U+FFFE': '\uFFFE',
  'U+FFFF': '\uFFFF',
  'U+0000': '\u0000',
  'U+0008': '\u0008',
  'U+001F': '\u001F',
  'a lone high surrogate': '\uD83D',
  'a lone low surrogate': '\uDE00',
};
const INVALID_CHARACTERS =
  'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';
const md5 = (text: string) => createHash('md5').update(Buffer.from(text, 'utf8')).digest('hex');

describe("the runner's SQS: the characters SQS accepts and refuses", () => {
  let sqsEmulator: FauxqsServer;
  let sqs: SQSClient;
  let queueCount = 0;
  const newQueue = async (fifo = false) => {
    const name = `characters-${++queueCount}${fifo ? '.fifo' : ''}`;
    const attributes = fifo ? { FifoQueue: 'true', ContentBasedDeduplication: 'true' } : undefined;
    return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
  };
  /** Receives (and deletes) until `count` messages came, or fails after a few seconds. */
  const receiveAll = async (queueUrl: string, count: number): Promise<Message[]> => {
    const received: Message[] = [];
    const deadline = Date.now() + 5_000;
    while (received.length < count && Date.now() < deadline) {
      const { Messages = [] } = await sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ['All'] }),
      );
      received.push(...Messages);
      if (Messages.length > 0) {
        await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle! })) }));
      }
    }
    return received;
  };

  beforeAll(async () => {
    sqsEmulator = await startSqsEmulator({ port: 0, logger: false });
    sqs = new SQSClient({ endpoint: `http://127.0.0.1:${sqsEmulator.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  });
  afterAll(async () => {
    sqs?.destroy();
    await sqsEmulator?.stop();
  });

  it.each(Object.entries(ACCEPTED))('SendMessage accepts %s, and ReceiveMessage gives the body back byte for byte', async (_label, sample) => {
    const queueUrl = await newQueue();
    const body = `before ${sample} after`;
    const sent = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    expect(sent.MD5OfMessageBody).toBe(md5(body));
    const [message] = await receiveAll(queueUrl, 1);
    expect(message?.Body).toBe(body);
    expect(Buffer.from(message!.Body!, 'utf8').equals(Buffer.from(body, 'utf8'))).toBe(true);
    expect(message!.MD5OfBody).toBe(md5(body));
  });

  it.each(Object.entries(REFUSED))('SendMessage refuses %s with InvalidMessageContents', async (_label, sample) => {
    const queueUrl = await newQueue();
    const refusal = sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: `before ${sample} after` }));
    await expect(refusal).rejects.toBeInstanceOf(InvalidMessageContents); // the SDK's own class, as against SQS
    await expect(refusal).rejects.toMatchObject({ name: 'InvalidMessageContents', message: INVALID_CHARACTERS, $fault: 'client' });
    expect((await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 0 }))).Messages ?? []).toEqual([]);
  });

  it.each([
    ['a standard queue', false],
    ['a FIFO queue', true],
  ])('SendMessageBatch on %s fails each refused entry alone (InvalidMessageContents, SenderFault) and sends the others', async (_label, fifo) => {
    const queueUrl = await newQueue(fifo);
    // Accepted and refused samples interleaved, ten entries per batch (SQS's most).
    const [acceptedSamples, refusedSamples] = [Object.values(ACCEPTED), Object.values(REFUSED)];
    const ordered = Array.from({ length: Math.max(acceptedSamples.length, refusedSamples.length) }, (_, i) => [
      ...(i < acceptedSamples.length ? [{ sample: acceptedSamples[i]!, accepted: true }] : []),
      ...(i < refusedSamples.length ? [{ sample: refusedSamples[i]!, accepted: false }] : []),
    ]).flat();
    const entries = ordered.map(({ sample }, i) => ({ Id: `entry-${i}`, MessageBody: `entry ${i}: ${sample}`, ...(fifo ? { MessageGroupId: `group-${i}` } : {}) }));
    const successful: string[] = [];
    const failed: Array<{ Id?: string; Code?: string; SenderFault?: boolean; Message?: string }> = [];
    for (let start = 0; start < entries.length; start += 10) {
      const result = await sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries.slice(start, start + 10) }));
      successful.push(...(result.Successful ?? []).map((entry) => entry.Id!));
      failed.push(...(result.Failed ?? []));
    }
    const idsWhere = (accepted: boolean) => entries.filter((_, i) => ordered[i]!.accepted === accepted).map((entry) => entry.Id).sort();
    expect(successful.sort()).toEqual(idsWhere(true));
    expect(failed.map((entry) => entry.Id).sort()).toEqual(idsWhere(false));
    for (const entry of failed) expect(entry).toMatchObject({ Code: 'InvalidMessageContents', SenderFault: true, Message: INVALID_CHARACTERS });

    const received = await receiveAll(queueUrl, successful.length);
    const accepted = entries.filter((_, i) => ordered[i]!.accepted).map((entry) => entry.MessageBody);
    expect(received.map((message) => message.Body).sort()).toEqual(accepted.sort());
  });

  it('holds string attribute values to the same characters: InvalidParameterValue for SendMessage, a failed entry in a batch', async () => {
    const queueUrl = await newQueue();
    const attribute = (value: string) => ({ note: { DataType: 'String', StringValue: value } });
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'emoji attribute', MessageAttributes: attribute('paid \u{1F600}') }));
    await expect(
      sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'refused attribute', MessageAttributes: attribute('paid \uFFFE') })),
    ).rejects.toMatchObject({ name: 'InvalidParameterValue', message: INVALID_CHARACTERS });
    const batch = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: [
          { Id: 'good', MessageBody: 'good \u{10FFFF}', MessageAttributes: attribute('\u{1F600}') },
          { Id: 'bad', MessageBody: 'bad attribute', MessageAttributes: attribute('\u0000') },
        ],
      }),
    );
    expect(batch.Successful?.map((entry) => entry.Id)).toEqual(['good']);
    expect(batch.Failed).toEqual([{ Id: 'bad', SenderFault: true, Code: 'InvalidParameterValue', Message: INVALID_CHARACTERS }]);

    const received = await receiveAll(queueUrl, 2);
    expect(received.map((message) => [message.Body, message.MessageAttributes?.note?.StringValue]).sort()).toEqual([
      ['emoji attribute', 'paid \u{1F600}'],
      ['good \u{10FFFF}', '\u{1F600}'],
    ]);
  });
});
