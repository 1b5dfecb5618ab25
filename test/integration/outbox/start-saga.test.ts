import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBStreamEvent, SQSEvent } from 'aws-lambda';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { toOutboxEvent, type OutboxEvent } from '../../../lambdas/domain/events.ts';
import { entityOf, withoutStorageAttributes, type PaymentItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { startStepFunctionsServer, type StepFunctionsServer } from '../../../tools/local-runner/step-functions/server.ts';
import { latestStreamArn, startStreamPoller, type StreamPoller } from '../../../tools/local-runner/event-source-mappings/stream-poller.ts';
import { startSqsPoller, type SqsPoller } from '../../../tools/local-runner/event-source-mappings/sqs-poller.ts';
import { dynamodbClient, sqsClient } from '../../support/aws.ts';
import { createSagaHarness, type SagaHarness } from '../saga/saga-harness.ts';
import {
  createQueue,
  drainQueue,
  eventually,
  importBundledHandler,
  mappingOf,
  maxReceiveCountOf,
  queueArn,
  queueAttributesOf,
  type Handler,
} from './harness.ts';

// The saga starter (bundled) behind a local SQS mapping with the template's settings, on a FIFO queue
// shaped like the synthesized one, starting executions of the SYNTHESIZED sagas through a local
// Step Functions API (tools/local-runner/step-functions.ts) whose tasks are the real bundled handlers.
let saga: SagaHarness;
let server: StepFunctionsServer;
let starter: Handler<SQSEvent>;
let starterEnv: Record<string, string>;
beforeAll(async () => {
  saga = await createSagaHarness();
  server = await startStepFunctionsServer(saga.stepFunctions);
  starterEnv = { AWS_ENDPOINT_URL_SFN: server.endpoint, PAYMENT_SAGA_ARN: saga.paymentSaga.arn, REFUND_SAGA_ARN: saga.refundSaga.arn };
  starter = await importBundledHandler<SQSEvent>('OutboxSagaStarter', starterEnv);
});
afterAll(async () => {
  await saga.stepFunctions.idle();
  await server.close();
});

const pollers: Array<SqsPoller | StreamPoller> = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

/** A fresh events queue (template attributes; a 1 s visibility timeout so redrive takes seconds, not minutes) and its DLQ. */
async function eventsQueues() {
  const dlqUrl = await createQueue('payment-events-dlq', { FifoQueue: 'true' });
  const queueUrl = await createQueue('payment-events', {
    ...queueAttributesOf('OutboxEventsQueue'),
    VisibilityTimeout: '1',
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: await queueArn(dlqUrl), maxReceiveCount: maxReceiveCountOf('OutboxEventsQueue') }),
  });
  const poller = startSqsPoller({ queueUrl, mapping: mappingOf('OutboxSagaStarter'), invoke: starter });
  pollers.push(poller);
  return { queueUrl, dlqUrl, poller };
}

const eventFor = (item: object, eventName = 'INSERT'): OutboxEvent =>
  toOutboxEvent({ eventId: randomUUID().replaceAll('-', ''), eventName, entity: entityOf(item as Record<string, unknown>), after: withoutStorageAttributes(item as Record<string, unknown>) })!;

async function publish(queueUrl: string, body: string, groupId: string, deduplicationId = randomUUID()): Promise<void> {
  await sqsClient().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, MessageGroupId: groupId, MessageDeduplicationId: deduplicationId }));
}

const executionsNamed = (name: string) => saga.stepFunctions.listExecutions().filter((execution) => execution.name === name);
const waitForExecution = (name: string) =>
  eventually(async () => executionsNamed(name)[0], `execution ${name}`).then((execution) => saga.stepFunctions.waitForExecution(execution.executionArn));

describe('Saga starter: payment.created', () => {
  it('starts the payment saga as payment-<paymentId> with {"paymentId"}, and the saga charges the payment', async () => {
    const { queueUrl } = await eventsQueues();
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 1234 });
    await publish(queueUrl, JSON.stringify(eventFor(payment)), payment.id);

    const execution = await waitForExecution(`payment-${payment.id}`);
    expect(execution.stateMachineArn).toBe(saga.paymentSaga.arn);
    expect(JSON.parse(execution.input)).toEqual({ paymentId: payment.id });
    expect(execution.status).toBe('SUCCEEDED');
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded', amountCaptured: 1234 });
  });

  it('a duplicate delivery, even after the saga finished, starts one execution (ExecutionAlreadyExists counts as started)', async () => {
    const { queueUrl, dlqUrl, poller } = await eventsQueues();
    const payment = await saga.seedPayment({ source: 'tok_success' });
    const body = JSON.stringify(eventFor(payment));
    // Distinct deduplication ids: deliveries the FIFO queue cannot recognize as duplicates (e.g. a
    // relay retry after the 5-minute deduplication window).
    await publish(queueUrl, body, payment.id);
    await publish(queueUrl, body, payment.id);
    const first = await waitForExecution(`payment-${payment.id}`);
    expect(first.status).toBe('SUCCEEDED');
    await publish(queueUrl, body, payment.id);

    // All three deliveries succeed (and are deleted) on their first receive.
    await eventually(async () => (poller.stats.deleted === 3 ? true : undefined), 'three deliveries acknowledged');
    expect(poller.stats.failedInvocations).toBe(0);
    expect(executionsNamed(`payment-${payment.id}`)).toHaveLength(1);
    expect(await drainQueue(dlqUrl, 0, { settleMs: 500 })).toEqual([]);
    expect((await saga.processorRecords(payment.id)).filter((record) => record.operation === 'authorize')).toHaveLength(1);
  });
});

describe('Saga starter: refund.created', () => {
  it('starts the refund saga as refund-<refundId> with {"paymentId","refundId"}', async () => {
    const { queueUrl } = await eventsQueues();
    const payment = await saga.seedPayment({ source: 'tok_success', amount: 3000 });
    await saga.runPaymentSaga(payment.id);
    const refund = await saga.seedRefund(await saga.payment(payment.id), 1000);
    await publish(queueUrl, JSON.stringify(eventFor(refund)), payment.id);

    const execution = await waitForExecution(`refund-${refund.id}`);
    expect(execution.stateMachineArn).toBe(saga.refundSaga.arn);
    expect(JSON.parse(execution.input)).toEqual({ paymentId: payment.id, refundId: refund.id });
    expect(await saga.refund(payment.id, refund.id)).toMatchObject({ status: 'succeeded' });
  });
});

describe('Saga starter: other event types', () => {
  it('acknowledges them without starting anything', async () => {
    const { queueUrl, dlqUrl, poller } = await eventsQueues();
    const payment = await saga.seedPayment({ source: 'tok_success', status: 'succeeded' }) as PaymentItem;
    const before = saga.stepFunctions.listExecutions().length;
    await publish(queueUrl, JSON.stringify(eventFor({ ...payment, status: 'succeeded' }, 'MODIFY')), payment.id);
    await publish(queueUrl, JSON.stringify(eventFor({ ...payment, status: 'refunded' }, 'MODIFY')), payment.id);

    await eventually(async () => (poller.stats.deleted === 2 ? true : undefined), 'both messages deleted');
    expect(poller.stats.failedInvocations).toBe(0);
    expect(saga.stepFunctions.listExecutions().length).toBe(before);
    expect(await drainQueue(dlqUrl, 0, { settleMs: 500 })).toEqual([]);
  });
});

describe('Saga starter: a malformed message', () => {
  it('ends in the DLQ after maxReceiveCount receives, holding back only the later messages of its own group', async () => {
    const { queueUrl, dlqUrl } = await eventsQueues();
    const blocked = await saga.seedPayment({ source: 'tok_success' });
    const independent = await saga.seedPayment({ source: 'tok_success' });
    await publish(queueUrl, '{"type":"payment.created","version":1}', blocked.id);
    await publish(queueUrl, JSON.stringify(eventFor(blocked)), blocked.id);
    await publish(queueUrl, JSON.stringify(eventFor(independent)), independent.id);

    // Another payment's group is not held up by the poison message.
    await waitForExecution(`payment-${independent.id}`);
    expect(executionsNamed(`payment-${blocked.id}`)).toHaveLength(0);

    const [dead] = await drainQueue(dlqUrl, 1, { timeoutMs: 30_000, settleMs: 0 });
    expect(dead!.body).toEqual({ type: 'payment.created', version: 1 });
    expect(dead!.groupId).toBe(blocked.id);
    // Once it is out of the way, the group's next message goes through.
    const execution = await waitForExecution(`payment-${blocked.id}`);
    expect(execution.status).toBe('SUCCEEDED');
  });
});

describe('Outbox end to end: table stream → relay → FIFO queue → saga starter → saga', () => {
  it('charges a payment written to the table exactly once, and every later event of it is acknowledged', async () => {
    const { queueUrl, dlqUrl, poller: starterPoller } = await eventsQueues();
    const deadLetterQueueUrl = await createQueue('relay-dead-letters');
    const relay = await importBundledHandler<DynamoDBStreamEvent>('OutboxRelay', { EVENTS_QUEUE_URL: queueUrl, RELAY_DEAD_LETTER_QUEUE_URL: deadLetterQueueUrl });
    const streamArn = await latestStreamArn(dynamodbClient(), saga.tables.PAYMENTS_TABLE_NAME!);
    // The table is shared with the tests above: start at LATEST (once the poller has its iterators) so
    // that their records are not relayed again; everything else is the synthesized mapping.
    const { DestinationConfig: _destination, ...mapping } = mappingOf('OutboxRelay');
    const relayed: string[] = [];
    const streamPoller = startStreamPoller({
      streamArn,
      mapping: { ...mapping, StartingPosition: 'LATEST' },
      invoke: async (event) => {
        const response = await relay(event);
        relayed.push(...event.Records.map((record) => `${record.dynamodb?.NewImage?.id?.S}:${record.dynamodb?.NewImage?.status?.S}`));
        return response;
      },
      pollIntervalMs: 50,
    });
    pollers.push(streamPoller);
    await streamPoller.idle();

    const payment = await saga.seedPayment({ source: 'tok_success', amount: 777 });
    const execution = await waitForExecution(`payment-${payment.id}`);
    expect(execution.status).toBe('SUCCEEDED');
    expect(await saga.payment(payment.id)).toMatchObject({ status: 'succeeded', amountCaptured: 777 });
    await saga.assertInvariants(payment.id);
    // payment.created, payment.succeeded (the saga writes no `processing`): two deliveries, one execution.
    await eventually(async () => (starterPoller.stats.deleted === 2 ? true : undefined), 'the saga’s own events acknowledged');
    expect(relayed).toEqual([`${payment.id}:pending`, `${payment.id}:succeeded`]);
    expect(starterPoller.stats.failedInvocations).toBe(0);
    expect(executionsNamed(`payment-${payment.id}`)).toHaveLength(1);
    expect(await drainQueue(dlqUrl, 0, { settleMs: 500 })).toEqual([]);
  });
});
