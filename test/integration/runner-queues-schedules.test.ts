// The runner's queues (the synthesized AWS::SQS::Queue resources created in a fauxqs of their own)
// and schedules (rate rules fired on a sped-up clock).
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { startFauxqs, type FauxqsServer } from 'fauxqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIntrinsicResolver, type TemplateValue } from '../../tools/local-runner/intrinsics.ts';
import { consumerTimeouts, createQueuesFromTemplate, type LocalQueue } from '../../tools/local-runner/sqs/queues.ts';
import { LocalReferences } from '../../tools/local-runner/references.ts';
import { ratePeriodMs, startSchedules } from '../../tools/local-runner/eventbridge/schedules.ts';
import { resourcesOfType, type CfnTemplate } from '../../tools/local-runner/template.ts';
import { testTemplate } from '../support/aws.ts';

describe('queues from the template', () => {
  let fauxqs: FauxqsServer;
  let sqs: SQSClient;
  let queues: Record<string, LocalQueue>;
  const template = testTemplate() as CfnTemplate;
  const logicalId = (prefix: string) => resourcesOfType(template, 'AWS::SQS::Queue').find(([id]) => id.startsWith(prefix))![0];
  const attributesOf = async (queue: LocalQueue) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }))).Attributes!;

  beforeAll(async () => {
    fauxqs = await startFauxqs({ port: 0, logger: false });
    sqs = new SQSClient({ endpoint: `http://127.0.0.1:${fauxqs.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    const references = new LocalReferences(template, { region: 'us-east-1', accountId: '000000000000' }, 'Payflow');
    queues = await createQueuesFromTemplate(sqs, template, references, { visibilityTimeoutScale: 0.05 });
  });
  afterAll(async () => {
    sqs?.destroy();
    await fauxqs?.stop();
  });

  it('creates every queue of the template, FIFO ones with a .fifo name', () => {
    expect(Object.keys(queues).sort()).toEqual(resourcesOfType(template, 'AWS::SQS::Queue').map(([id]) => id).sort());
    const events = queues[logicalId('OutboxEventsQueue')]!;
    expect(events).toMatchObject({ fifo: true, name: expect.stringMatching(/\.fifo$/) });
  });

  it('with the attributes the template gives: FIFO, deduplication, retention, and a redrive policy to the DLQ it names', async () => {
    const events = queues[logicalId('OutboxEventsQueue')]!;
    const dlq = queues[logicalId('OutboxEventsDlq')]!;
    const declared = template.Resources[events.logicalId]!.Properties!;
    const attributes = await attributesOf(events);
    expect(attributes).toMatchObject({
      FifoQueue: 'true',
      ContentBasedDeduplication: String(declared.ContentBasedDeduplication),
      MessageRetentionPeriod: String(declared.MessageRetentionPeriod),
    });
    expect(JSON.parse(attributes.RedrivePolicy!)).toEqual({ deadLetterTargetArn: dlq.arn, maxReceiveCount: declared.RedrivePolicy.maxReceiveCount });
  });

  it('scales visibility timeouts (the template says 60 s: 3 s at 0.05), never below 1 s', async () => {
    const events = queues[logicalId('OutboxEventsQueue')]!;
    expect(template.Resources[events.logicalId]!.Properties!.VisibilityTimeout).toBe(60);
    expect((await attributesOf(events)).VisibilityTimeout).toBe('3');
    const dlq = queues[logicalId('OutboxEventsDlq')]!;
    expect((await attributesOf(dlq)).VisibilityTimeout).toBe('2'); // SQS's default 30 s, scaled
    expect(events.visibilityAfterFailureSeconds).toBeUndefined();
  });

  it("a queue a function consumes keeps at least that function's timeout, and names its scaled timeout for the messages that fail", async () => {
    const own = await startFauxqs({ port: 0, logger: false });
    const ownSqs = new SQSClient({ endpoint: `http://127.0.0.1:${own.port}`, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
    try {
      const references = new LocalReferences(template, { region: 'us-east-1', accountId: '000000000000' }, 'Payflow');
      const floored = await createQueuesFromTemplate(ownSqs, template, references, { visibilityTimeoutScale: 0.05, minimumVisibilitySeconds: consumerTimeouts(template) });
      const events = floored[logicalId('OutboxEventsQueue')]!;
      const starterTimeout = consumerTimeouts(template)[events.logicalId]!;
      expect(starterTimeout).toBeGreaterThan(3);
      const { Attributes } = await ownSqs.send(new GetQueueAttributesCommand({ QueueUrl: events.url, AttributeNames: ['VisibilityTimeout'] }));
      expect(Attributes!.VisibilityTimeout).toBe(String(starterTimeout));
      expect(events.visibilityAfterFailureSeconds).toBe(3);
      expect(floored[logicalId('OutboxEventsDlq')]!.visibilityAfterFailureSeconds).toBeUndefined();
    } finally {
      ownSqs.destroy();
      await own.stop();
    }
  });
});

describe('schedules', () => {
  const template: CfnTemplate = {
    Resources: {
      Every5Minutes: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'rate(5 minutes)', State: 'ENABLED', Targets: [{ Arn: { 'Fn::GetAtt': ['Reconcile', 'Arn'] }, Id: 'Target0' }] },
      },
      Disabled: {
        Type: 'AWS::Events::Rule',
        Properties: { ScheduleExpression: 'rate(1 minute)', State: 'DISABLED', Targets: [{ Arn: { 'Fn::GetAtt': ['Reconcile', 'Arn'] }, Id: 'Target0' }] },
      },
      HourlyWithInput: {
        Type: 'AWS::Scheduler::Schedule',
        Properties: { ScheduleExpression: 'rate(1 hour)', FlexibleTimeWindow: { Mode: 'OFF' }, Target: { Arn: { 'Fn::GetAtt': ['Reconcile', 'Arn'] }, Input: '{"mode":"full"}' } },
      },
      Reconcile: { Type: 'AWS::Lambda::Function', Properties: {} },
    },
  };
  const functionArn = 'arn:aws:lambda:us-east-1:000000000000:function:Reconcile';
  const resolve = createIntrinsicResolver({ ref: (id) => id, getAtt: (id) => (id === 'Reconcile' ? functionArn : `${id}-arn`) });
  const withRules = (resources: CfnTemplate['Resources']): CfnTemplate => ({ Resources: { ...resources, Reconcile: template.Resources.Reconcile! } });

  it('parses rate expressions and refuses what it cannot emulate', () => {
    expect(ratePeriodMs('rate(5 minutes)')).toBe(300_000);
    expect(ratePeriodMs('rate(1 hour)')).toBe(3_600_000);
    expect(ratePeriodMs('rate(2 days)')).toBe(172_800_000);
    expect(() => ratePeriodMs('cron(0 12 * * ? *)')).toThrow(/not supported locally/);
  });

  it('fires each enabled rule on its (scaled) rate with the scheduled event, or the target input', async () => {
    const fired: Array<{ arn: string; event: any; at: number }> = [];
    const schedules = startSchedules({
      template,
      resolve: resolve as (value: TemplateValue) => TemplateValue,
      invoke: async (arn, event) => fired.push({ arn, event, at: Date.now() }),
      isFunction: (arn) => arn === functionArn,
      region: 'us-east-1',
      accountId: '000000000000',
      timeScale: 0.0005, // 5 minutes -> 150 ms, 1 hour -> 1.8 s
    });
    try {
      expect(schedules.schedules.map((schedule) => [schedule.logicalId, schedule.periodMs])).toEqual([
        ['Every5Minutes', 150],
        ['HourlyWithInput', 1_800],
      ]);
      await expect.poll(() => fired.filter((f) => f.event.source === 'aws.events').length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
      await expect.poll(() => fired.filter((f) => f.event.mode === 'full').length, { timeout: 5_000 }).toBeGreaterThanOrEqual(1);
    } finally {
      schedules.stop();
    }
    const scheduled = fired.find((f) => f.event.source === 'aws.events')!;
    expect(scheduled).toMatchObject({
      arn: functionArn,
      event: { version: '0', 'detail-type': 'Scheduled Event', account: '000000000000', region: 'us-east-1', resources: ['arn:aws:events:us-east-1:000000000000:rule/Every5Minutes'], detail: {} },
    });
    expect(scheduled.event.time).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    // Stopped means stopped: nothing fires afterwards (a negative check has to wait: over two periods).
    const count = fired.length;
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(fired.length).toBe(count);
  });

  it('refuses an event-pattern rule and a target that is not a function of the stack', () => {
    const options = { resolve: resolve as (value: TemplateValue) => TemplateValue, invoke: async () => null, isFunction: (arn: string) => arn === functionArn, region: 'us-east-1', accountId: '000000000000' };
    expect(() => startSchedules({ ...options, template: withRules({ OnEvent: { Type: 'AWS::Events::Rule', Properties: { EventPattern: { source: ['x'] }, Targets: [] } } }) })).toThrow(
      /OnEvent: an AWS::Events::Rule with an event pattern is not supported locally/,
    );
    expect(() =>
      startSchedules({
        ...options,
        template: withRules({ ToQueue: { Type: 'AWS::Events::Rule', Properties: { ScheduleExpression: 'rate(1 minute)', Targets: [{ Arn: 'arn:aws:sqs:us-east-1:000000000000:q', Id: 'T' }] } } }),
      }),
    ).toThrow(/ToQueue: schedule target arn:aws:sqs:us-east-1:000000000000:q is not supported locally/);
  });
});
