import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent, SQSEvent, SQSRecord } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventSourceMappingProperties } from '../../../tools/local-runner/event-source-mappings/mapping.ts';
import { latestStreamArn, startStreamPoller, type StreamPoller } from '../../../tools/local-runner/event-source-mappings/stream-poller.ts';
import { startSqsPoller, type SqsPoller } from '../../../tools/local-runner/event-source-mappings/sqs-poller.ts';
import { dynamodbClient, sqsClient } from '../../support/aws.ts';
import { PaymentsTable, createQueue, createTestTables, drainQueue, eventually } from './harness.ts';

// The local event source mappings themselves, on DynamoDB Local's stream and fauxqs. The function
// they invoke is a recording stand-in whose failures the test scripts: it is the mapping's behaviour
// on those failures that is under test here.
const pollers: Array<StreamPoller | SqsPoller> = [];
afterEach(async () => {
  await Promise.all(pollers.splice(0).map((poller) => poller.stop()));
});

async function streamRig(mapping: EventSourceMappingProperties, fn: (event: DynamoDBStreamEvent) => Promise<unknown>, polling: { pollIntervalMs?: number; idlePollIntervalMs?: number; busyForMs?: number; quietPollIntervalMs?: number; quietAfterMs?: number } = {}) {
  const tables = await createTestTables();
  const failureQueueUrl = await createQueue('mapping-failures');
  const streamArn = await latestStreamArn(dynamodbClient(), tables.PAYMENTS_TABLE_NAME!);
  const invocations: string[][] = [];
  const poller = startStreamPoller({
    streamArn,
    mapping: { StartingPosition: 'TRIM_HORIZON', DestinationConfig: { OnFailure: { Destination: 'arn:aws:sqs:us-east-1:000000000000:mapping-failures' } }, ...mapping },
    invoke: async (event) => {
      invocations.push(event.Records.map(idOf));
      return fn(event);
    },
    resolveDestination: (arn) => (arn === 'arn:aws:sqs:us-east-1:000000000000:mapping-failures' ? failureQueueUrl : undefined),
    pollIntervalMs: 20,
    ...polling,
  });
  pollers.push(poller);
  return { table: new PaymentsTable(tables.PAYMENTS_TABLE_NAME!), poller, invocations, failureQueueUrl, streamArn };
}

const idOf = (record: DynamoDBRecord) => record.dynamodb?.NewImage?.id?.S ?? '?';
const ok = async () => ({ batchItemFailures: [] });

async function writePayments(table: PaymentsTable, ids: string[]) {
  for (const id of ids) await table.createPayment({ id });
}

describe('Local stream mapping', () => {
  it('idles between writes and is woken by one: a record written after wake() is delivered at once, not at the idle interval', async () => {
    const rig = await streamRig({ BatchSize: 10 }, ok, { idlePollIntervalMs: 30_000, busyForMs: 200 });
    await writePayments(rig.table, ['p1']);
    rig.poller.wake();
    await eventually(async () => (rig.invocations.flat().includes('p1') ? true : undefined), 'p1 after a wake');
    // Past busyForMs with nothing new, the poller is on its 30 s idle interval: a write nobody announces waits.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await writePayments(rig.table, ['p2']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(rig.invocations.flat()).not.toContain('p2');
    const woken = Date.now();
    rig.poller.wake();
    await eventually(async () => (rig.invocations.flat().includes('p2') ? true : undefined), 'p2 after a wake');
    expect(Date.now() - woken).toBeLessThan(5_000);
  });

  it('past quietAfterMs without a wake or a record, a write nobody announces waits for the quiet interval; before it, for the idle one', async () => {
    const rig = await streamRig({ BatchSize: 10 }, ok, { idlePollIntervalMs: 300, busyForMs: 100, quietAfterMs: 1_000, quietPollIntervalMs: 30_000 });
    await writePayments(rig.table, ['p1']);
    rig.poller.wake();
    await eventually(async () => (rig.invocations.flat().includes('p1') ? true : undefined), 'p1 after a wake');
    // Within quietAfterMs: found by an idle-interval poll.
    await writePayments(rig.table, ['p2']);
    await eventually(async () => (rig.invocations.flat().includes('p2') ? true : undefined), 'p2 at the idle interval', 3_000);
    // Past it (nothing for 1.5 s): the poller is on its 30 s quiet interval until a wake.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    await writePayments(rig.table, ['p3']);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(rig.invocations.flat()).not.toContain('p3');
    rig.poller.wake();
    await eventually(async () => (rig.invocations.flat().includes('p3') ? true : undefined), 'p3 after a wake');
  });

  it('delivers records in stream order, at most BatchSize per invocation, after the FilterCriteria', async () => {
    const rig = await streamRig(
      { BatchSize: 2, FilterCriteria: { Filters: [{ Pattern: JSON.stringify({ dynamodb: { NewImage: { entity: { S: ['payment'] } } } }) }] } },
      ok,
    );
    await writePayments(rig.table, ['p1', 'p2']);
    await rig.table.put({ PK: 'PAYMENT#p2', SK: 'POSTING#capture', entity: 'posting' });
    await writePayments(rig.table, ['p3', 'p4', 'p5']);
    await eventually(async () => (rig.invocations.flat().length >= 5 ? true : undefined), 'five records');
    await rig.poller.idle();

    expect(rig.invocations.flat()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    expect(Math.max(...rig.invocations.map((batch) => batch.length))).toBeLessThanOrEqual(2);
    expect(rig.poller.stats.filteredOut).toBe(1);
  });

  it('with ReportBatchItemFailures, checkpoints before the lowest reported record and retries from it', async () => {
    let failedOnce = false;
    const rig = await streamRig({ BatchSize: 10, MaximumBatchingWindowInSeconds: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] }, async (event) => {
      const p3 = event.Records.find((record) => idOf(record) === 'p3');
      const p4 = event.Records.find((record) => idOf(record) === 'p4');
      if (!failedOnce && p3 && p4) {
        failedOnce = true;
        return { batchItemFailures: [{ itemIdentifier: p4.dynamodb!.SequenceNumber }, { itemIdentifier: p3.dynamodb!.SequenceNumber }] };
      }
      return { batchItemFailures: [] };
    });
    await writePayments(rig.table, ['p1', 'p2', 'p3', 'p4', 'p5']);
    await eventually(async () => (rig.invocations.length >= 2 ? true : undefined), 'a retry');
    await rig.poller.idle();

    expect(rig.invocations).toEqual([
      ['p1', 'p2', 'p3', 'p4', 'p5'],
      ['p3', 'p4', 'p5'],
    ]);
  });

  it('bisects a failing batch without using up retries, then sends the on-failure pointer of the record that kept failing', async () => {
    const rig = await streamRig(
      { BatchSize: 8, MaximumBatchingWindowInSeconds: 1, BisectBatchOnFunctionError: true, MaximumRetryAttempts: 2 },
      async (event) => {
        if (event.Records.some((record) => idOf(record) === 'poison')) throw new Error('cannot handle poison');
      },
    );
    await writePayments(rig.table, ['a', 'b', 'c', 'd', 'e', 'poison', 'f', 'g']);
    const [pointer] = await drainQueue(rig.failureQueueUrl, 1, { settleMs: 500 });
    await rig.poller.idle();

    const succeeded = rig.invocations.filter((batch) => !batch.includes('poison')).flat();
    expect(new Set(succeeded)).toEqual(new Set(['a', 'b', 'c', 'd', 'e', 'f', 'g']));
    // 8 → 4 → 2 → 1 by bisection, then the single record: its first try and 2 retries.
    const poisonAlone = rig.invocations.filter((batch) => batch.length === 1 && batch[0] === 'poison');
    expect(poisonAlone).toHaveLength(3);
    expect(pointer!.body).toMatchObject({
      requestContext: { condition: 'RetryAttemptsExhausted', approximateInvokeCount: 3 },
      responseContext: { functionError: 'Unhandled' },
      version: '1.0',
      DDBStreamBatchInfo: { batchSize: 1, streamArn: rig.streamArn, shardId: expect.stringMatching(/^shardId-/) },
    });
    expect(pointer!.body.DDBStreamBatchInfo.startSequenceNumber).toBe(pointer!.body.DDBStreamBatchInfo.endSequenceNumber);
    expect(rig.poller.stats.failureRecordsSent).toBe(1);
  });

  it('skips records older than MaximumRecordAgeInSeconds and reports them as RecordAgeExceeded', async () => {
    const rig = await streamRig({ BatchSize: 10, MaximumRecordAgeInSeconds: 0 }, ok);
    await writePayments(rig.table, ['old1', 'old2']);
    const pointers = await drainQueue(rig.failureQueueUrl, 1, { settleMs: 500 });
    expect(rig.invocations).toEqual([]);
    expect(pointers.map((pointer) => pointer.body.requestContext.condition)).toEqual(pointers.map(() => 'RecordAgeExceeded'));
    expect(pointers.reduce((sum, pointer) => sum + pointer.body.DDBStreamBatchInfo.batchSize, 0)).toBe(2);
  });

  it('stops cleanly: no timer or socket of its own is left behind', async () => {
    const before = process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length;
    const rig = await streamRig({ BatchSize: 10 }, ok);
    await writePayments(rig.table, ['x']);
    await eventually(async () => (rig.invocations.length > 0 ? true : undefined), 'an invocation');
    await pollers.pop()!.stop();
    expect(process.getActiveResourcesInfo().filter((resource) => resource === 'Timeout').length).toBeLessThanOrEqual(before);
  });
});

describe('Local SQS mapping', () => {
  it('deletes what succeeded and leaves the reported failures to come back after the visibility timeout', async () => {
    // 2 s, not 1: on a loaded machine a 1-second visibility can lapse before the poller has handed the batch over.
    const queueUrl = await createQueue('mapping-sqs', { VisibilityTimeout: '2' });
    await sqsClient().send(
      new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: ['m1', 'm2', 'm3'].map((body) => ({ Id: body, MessageBody: JSON.stringify({ body }) })) }),
    );
    const deliveries: SQSRecord[] = [];
    const poller = startSqsPoller({
      queueUrl,
      mapping: { BatchSize: 10, MaximumBatchingWindowInSeconds: 1, FunctionResponseTypes: ['ReportBatchItemFailures'] },
      invoke: async (event: SQSEvent) => {
        deliveries.push(...event.Records);
        const failed = event.Records.filter((record) => JSON.parse(record.body).body === 'm2' && record.attributes.ApproximateReceiveCount === '1');
        return { batchItemFailures: failed.map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    pollers.push(poller);

    await eventually(async () => (deliveries.length === 4 ? true : undefined), 'm2 delivered again');
    expect(deliveries.map((record) => JSON.parse(record.body).body).sort()).toEqual(['m1', 'm2', 'm2', 'm3']);
    const again = deliveries[3]!;
    expect(JSON.parse(again.body).body).toBe('m2');
    expect(again.attributes.ApproximateReceiveCount).toBe('2');
    expect(again).toMatchObject({ eventSource: 'aws:sqs', eventSourceARN: expect.stringMatching(/^arn:aws:sqs:.*:mapping-sqs-/) });
    await eventually(async () => (poller.stats.deleted === 3 ? true : undefined), 'all three deleted');
    expect(await drainQueue(queueUrl, 0, { settleMs: 1_500 })).toEqual([]);
  });

  it('keeps the whole batch when the function throws', async () => {
    const queueUrl = await createQueue('mapping-sqs-error', { VisibilityTimeout: '1' });
    await sqsClient().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: '"a"' }, { Id: 'b', MessageBody: '"b"' }] }));
    let calls = 0;
    const poller = startSqsPoller({
      queueUrl,
      mapping: { BatchSize: 10, MaximumBatchingWindowInSeconds: 1 },
      invoke: async () => {
        calls += 1;
        if (calls === 1) throw new Error(`failure ${randomUUID()}`);
      },
    });
    pollers.push(poller);
    await eventually(async () => (poller.stats.deleted === 2 ? true : undefined), 'both deleted after the retry');
    expect(poller.stats.failedInvocations).toBe(1);
    expect(calls).toBeGreaterThanOrEqual(2);
  });

  it("with visibilityAfterFailureSeconds (a sped-up twin), a failed message comes back that long after its receive, not after the queue's longer timeout", async () => {
    const queueUrl = await createQueue('mapping-sqs-scaled', { VisibilityTimeout: '30' });
    await sqsClient().send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: [{ Id: 'a', MessageBody: '"a"' }, { Id: 'b', MessageBody: '"b"' }] }));
    const invokedAt: number[] = [];
    const poller = startSqsPoller({
      queueUrl,
      mapping: { BatchSize: 10, FunctionResponseTypes: ['ReportBatchItemFailures'] },
      visibilityAfterFailureSeconds: 1,
      invoke: async (event: SQSEvent) => {
        invokedAt.push(Date.now());
        // First the whole batch fails, then "b" alone is reported once: each comes back in about a second.
        if (invokedAt.length === 1) throw new Error('whole batch');
        return { batchItemFailures: event.Records.filter((record) => record.body === '"b"' && record.attributes.ApproximateReceiveCount === '2').map((record) => ({ itemIdentifier: record.messageId })) };
      },
    });
    pollers.push(poller);
    await eventually(async () => (poller.stats.deleted === 2 ? true : undefined), 'both deleted after two failures');
    expect(poller.stats.failedInvocations).toBe(2);
    const gaps = invokedAt.slice(1).map((at, index) => at - invokedAt[index]!);
    for (const gap of gaps) {
      expect(gap).toBeGreaterThanOrEqual(900);
      expect(gap).toBeLessThan(10_000);
    }
  });
});
