// The operators' DLQ tool (tools/dlq, `npm run dlq`): it lists each dead message with why it failed and
// the payment it belongs to, and redrives it through the same idempotent path; redriving twice changes
// nothing (DESIGN §6: "replaying it twice changes nothing"). Dead messages are put in the queues as
// the stack puts them there (an event, a kept stream record, a saga's failure case) for a payment that
// already succeeded: a redrive must then change nothing at all — one saga run, one authorization.
import { randomUUID } from 'node:crypto';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { DeadLetters } from '../../tools/dlq/dead-letters.ts';
import { dynamodbClient, eventually, merchant, output, paymentReaching, sfnClient, sqsClient, stack } from './target.ts';

const merchantA = merchant('MerchantA');
const sqs = sqsClient();
const sfn = sfnClient();
const dynamodb = dynamodbClient();
const lambda = new LambdaClient({ region: stack().aws.region, credentials: stack().aws.credentials, ...(stack().outputs.LocalLambdaEndpoint ? { endpoint: stack().outputs.LocalLambdaEndpoint } : {}) });
const tool = new DeadLetters({ sqs, sfn, lambda }, stack().outputs);
afterAll(() => {
  for (const client of [sqs, sfn, dynamodb, lambda]) client.destroy();
});

async function succeededPayment() {
  const payment = await merchantA.client.createPayment({ amount: 3100, currency: 'USD', source: 'tok_success', description: 'dlq acceptance' });
  await paymentReaching(merchantA, payment.id, ['succeeded']);
  return payment;
}

async function executionsOf(paymentId: string): Promise<string[]> {
  const names: string[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: output('PaymentSagaArn'), maxResults: 1000, nextToken }));
    names.push(...(page.executions ?? []).map((execution) => execution.name!).filter((name) => name.startsWith(`payment-${paymentId}`)));
    nextToken = page.nextToken;
  } while (nextToken);
  return names.sort();
}

/** What must not change when a dead message of an already settled payment is redriven. */
async function settledState(paymentId: string) {
  const payment = await merchantA.client.getPayment(paymentId);
  const records: Array<Record<string, unknown>> = [];
  for await (const page of paginateScan({ client: dynamodb }, { TableName: output('ProcessorTableName'), FilterExpression: '#reference = :id', ExpressionAttributeNames: { '#reference': 'reference' }, ExpressionAttributeValues: { ':id': paymentId } })) records.push(...(page.Items ?? []));
  return { status: payment.status, amountCaptured: payment.amountCaptured, updatedAt: payment.updatedAt, processor: records.map((record) => `${record.operation}:${record.outcome}`).sort() };
}

async function listed(queue: string, messageId: string) {
  return eventually(`${messageId} listed in ${queue}`, 30_000, async () => (await tool.list(queue))[0]!.messages.find((message) => message.messageId === messageId));
}

describe('npm run dlq: the events DLQ', () => {
  it('lists a dead event with its payment and why; redrive moves it back to the events queue, the starter finds the saga started; a second redrive finds nothing', async () => {
    const payment = await succeededPayment();
    const before = { executions: await executionsOf(payment.id), state: await settledState(payment.id) };
    const event = { type: 'payment.created', version: 1, id: randomUUID(), paymentId: payment.id, occurredAt: new Date().toISOString(), data: { id: payment.id, status: 'pending' } };
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: output('EventsDlqUrl'), MessageBody: JSON.stringify(event), MessageGroupId: payment.id, MessageDeduplicationId: event.id }));

    const dead = await listed('EventsDlq', MessageId!);
    expect(dead).toMatchObject({ paymentId: payment.id, kind: 'payment.created', reason: expect.stringMatching(/redrive policy of EventsQueue after \d+ receives/) });
    expect(dead.attempts).toBeGreaterThan(0);

    const first = await tool.redrive('EventsDlq', MessageId!);
    expect(first.redriven).toEqual([{ messageId: MessageId, to: 'EventsQueue' }]);
    // The starter consumed it (the events queue drains), and the saga was not started twice.
    await eventually('the events queue to drain', 30_000, async () => ((await tool.queues()).find((queue) => queue.label === 'EventsQueue')!.visible === 0 ? true : undefined));
    const second = await tool.redrive('EventsDlq', MessageId!);
    expect(second.redriven).toEqual([]);
    expect(await executionsOf(payment.id)).toEqual(before.executions);
    expect(await settledState(payment.id)).toEqual(before.state);
  });
});

describe('npm run dlq: the relay DLQ', () => {
  it('redrives a kept stream record through the relay function; the event it publishes changes nothing; a second redrive finds nothing', async () => {
    expect(stack().outputs.OutboxRelayFunctionName).toBeTruthy();
    const payment = await succeededPayment();
    const before = { executions: await executionsOf(payment.id), state: await settledState(payment.id) };
    const { Item } = await dynamodb.send(new GetCommand({ TableName: output('PaymentsTableName'), Key: { PK: `PAYMENT#${payment.id}`, SK: 'PAYMENT' } }));
    const record = {
      eventID: randomUUID().replaceAll('-', ''),
      eventName: 'INSERT',
      eventSource: 'aws:dynamodb',
      dynamodb: { Keys: marshall({ PK: Item!.PK, SK: Item!.SK }), NewImage: marshall({ ...Item!, status: 'pending' }, { removeUndefinedValues: true }), SequenceNumber: String(Date.now()), StreamViewType: 'NEW_AND_OLD_IMAGES' },
    };
    const { MessageId } = await sqs.send(
      new SendMessageCommand({
        QueueUrl: output('RelayDeadLetterQueueUrl'),
        MessageBody: JSON.stringify(record),
        MessageAttributes: { origin: { DataType: 'String', StringValue: 'outbox-relay' }, reason: { DataType: 'String', StringValue: 'MessageRefused: SQS refused the event' } },
        ...(output('RelayDeadLetterQueueUrl').endsWith('.fifo') ? { MessageGroupId: payment.id, MessageDeduplicationId: record.eventID } : {}),
      }),
    );

    const dead = await listed('RelayDeadLetterQueue', MessageId!);
    expect(dead).toMatchObject({ paymentId: payment.id, reason: expect.stringContaining('outbox-relay: MessageRefused') });

    const first = await tool.redrive('RelayDeadLetterQueue', MessageId!);
    expect(first.skipped).toEqual([]);
    expect(first.redriven).toEqual([{ messageId: MessageId, to: `relay ${output('OutboxRelayFunctionName')}` }]);
    expect((await tool.redrive('RelayDeadLetterQueue', MessageId!)).redriven).toEqual([]);
    await eventually('the events queue to drain', 30_000, async () => ((await tool.queues()).find((queue) => queue.label === 'EventsQueue')!.visible === 0 ? true : undefined));
    expect(await executionsOf(payment.id)).toEqual(before.executions);
    expect(await settledState(payment.id)).toEqual(before.state);
  });

  it('the twin serves the Lambda Invoke API: an unknown function is ResourceNotFoundException', async () => {
    if (stack().target !== 'local') return;
    await expect(lambda.send(new InvokeCommand({ FunctionName: 'no-such-function', Payload: Buffer.from('{}') }))).rejects.toMatchObject({ name: 'ResourceNotFoundException' });
  });
});

describe('npm run dlq: the saga-failures queue', () => {
  it('a failed compensation is shown with its kind, error and payment; redrive starts the saga under a redrive name, which finds the payment settled; a second redrive changes nothing', async () => {
    const payment = await succeededPayment();
    const before = await settledState(payment.id);
    const executionName = `payment-${payment.id}`;
    const body = {
      saga: 'payment',
      executionArn: `${output('PaymentSagaArn').replace(':stateMachine:', ':execution:')}:${executionName}`,
      executionName,
      stateMachineArn: output('PaymentSagaArn'),
      state: { paymentId: payment.id, status: 'pending', failureCode: 'capture_failed', compensationError: { Error: 'ProcessorUnavailable', Cause: 'void timed out on every retry' } },
    };
    const { MessageId } = await sqs.send(new SendMessageCommand({ QueueUrl: output('SagaFailuresQueueUrl'), MessageBody: JSON.stringify(body) }));

    const dead = await listed('SagaFailuresQueue', MessageId!);
    expect(dead).toMatchObject({ paymentId: payment.id, kind: 'compensation_failed', reason: expect.stringContaining('ProcessorUnavailable: void timed out'), resolution: expect.stringContaining('start the saga again') });

    const first = await tool.redrive('SagaFailuresQueue', MessageId!);
    expect(first.redriven).toHaveLength(1);
    const redriveName = first.redriven[0]!.to.split(' ').pop()!;
    expect(redriveName).toMatch(new RegExp(`^${executionName}-redrive-[0-9a-f]{12}$`));
    await eventually('the redrive execution to end', 30_000, async () => ((await tool.executionStatus('payment', redriveName)) === 'SUCCEEDED' ? true : undefined));

    expect((await tool.redrive('SagaFailuresQueue', MessageId!)).redriven).toEqual([]);
    expect(await executionsOf(payment.id)).toEqual([executionName, redriveName].sort());
    expect(await settledState(payment.id)).toEqual(before);
  });
});
