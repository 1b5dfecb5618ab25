import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import { Pass, StateMachine, DefinitionBody } from 'aws-cdk-lib/aws-stepfunctions';
import { beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../lib/constructs/outbox.ts';
import { PaymentsData } from '../../lib/constructs/payments-data.ts';
import { PAYMENT_SCAN_CURSOR_ATTRIBUTES, PAYMENT_SCAN_CURSORS_PK, paymentScanCursorItem } from '../../lambdas/adapters/dynamodb/payments-items.ts';
import { Reconciliation } from '../../lib/constructs/reconciliation.ts';

type Resource = { Type: string; Properties: Record<string, any> };

let template: Template;
let resources: Record<string, Resource>;
let stack: Stack;
let outbox: Outbox;
let reconciliation: Reconciliation;

const logicalIdOf = (construct: { node: { defaultChild?: unknown } }) => stack.getLogicalId(construct.node.defaultChild as never);
const ofType = (type: string) => Object.entries(resources).filter(([, resource]) => resource.Type === type);

/** Every statement of the policies attached to a function's role. */
function statementsOf(fn: { role?: { node: { defaultChild?: unknown } } }): Array<Record<string, any>> {
  const roleId = stack.getLogicalId(fn.role!.node.defaultChild as never);
  return ofType('AWS::IAM::Policy')
    .filter(([, policy]) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
    .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement);
}
const actionsOf = (statement: Record<string, any>): string[] => [statement.Action].flat();
const allActionsOf = (fn: Parameters<typeof statementsOf>[0]) => statementsOf(fn).flatMap(actionsOf);

beforeAll(() => {
  // The constructs in a stack of their own, with stand-in state machines: the saga's definition is
  // not under test here, only what the outbox and reconciliation are granted on it.
  const app = new App();
  stack = new Stack(app, 'OutboxTest');
  const data = new PaymentsData(stack, 'Data', { removalPolicy: RemovalPolicy.DESTROY });
  const saga = (id: string) => new StateMachine(stack, id, { definitionBody: DefinitionBody.fromChainable(new Pass(stack, `${id}Pass`)) });
  const paymentSaga = saga('PaymentSaga');
  const refundSaga = saga('RefundSaga');
  const sagaFailuresQueue = new Queue(stack, 'SagaFailures', { encryption: QueueEncryption.SQS_MANAGED, enforceSSL: true });
  outbox = new Outbox(stack, 'Outbox', { paymentsTable: data.paymentsTable, paymentSaga, refundSaga });
  reconciliation = new Reconciliation(stack, 'Reconciliation', { paymentsTable: data.paymentsTable, paymentSaga, refundSaga, sagaFailuresQueue, merchantIds: ['merchant-a', 'merchant-b'] });
  template = Template.fromStack(stack);
  resources = template.toJSON().Resources;
}, 120_000);

describe('stream mapping of the relay', () => {
  const streamMapping = () => {
    const mappings = ofType('AWS::Lambda::EventSourceMapping').filter(([, m]) => m.Properties.StartingPosition !== undefined);
    expect(mappings).toHaveLength(1);
    return mappings[0]![1].Properties;
  };

  it('reads the payments stream from the trim horizon, one batch per shard, with partial batch responses', () => {
    const mapping = streamMapping();
    expect(mapping.FunctionName).toEqual({ Ref: logicalIdOf(outbox.relay) });
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/^DataPaymentsTable/), 'StreamArn'] });
    expect(mapping).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      ParallelizationFactor: 1,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
    });
    expect(mapping.MaximumBatchingWindowInSeconds).toBeLessThanOrEqual(1);
  });

  it('bounds retries and record age, bisects failing batches, and sends what failed to the failure queue', () => {
    const mapping = streamMapping();
    expect(mapping.BisectBatchOnFunctionError).toBe(true);
    expect(mapping.MaximumRetryAttempts).toBeGreaterThanOrEqual(1);
    expect(mapping.MaximumRetryAttempts).toBeLessThanOrEqual(10);
    expect(mapping.MaximumRecordAgeInSeconds).toBeGreaterThan(0);
    expect(mapping.MaximumRecordAgeInSeconds).toBeLessThanOrEqual(24 * 3600);
    expect(mapping.DestinationConfig.OnFailure.Destination).toEqual({ 'Fn::GetAtt': [logicalIdOf(outbox.relayFailureQueue), 'Arn'] });
  });

  it('is filtered to INSERT and MODIFY records of payments and refunds', () => {
    const filters = streamMapping().FilterCriteria.Filters;
    expect(filters).toHaveLength(1);
    expect(JSON.parse(filters[0].Pattern)).toEqual({
      eventName: ['INSERT', 'MODIFY'],
      dynamodb: { NewImage: { entity: { S: ['payment', 'refund'] } } },
    });
  });
});

describe('SQS mappings', () => {
  const sqsMappingOf = (fn: typeof outbox.sagaStarter) =>
    ofType('AWS::Lambda::EventSourceMapping').find(([, m]) => m.Properties.FunctionName.Ref === logicalIdOf(fn))![1].Properties;

  it('the saga starter reads the FIFO events queue ten at a time with partial batch responses', () => {
    const mapping = sqsMappingOf(outbox.sagaStarter);
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(outbox.eventsQueue), 'Arn'] });
    expect(mapping.BatchSize).toBe(10);
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });

  it('the failure keeper reads the failure queue with partial batch responses', () => {
    const mapping = sqsMappingOf(outbox.failureKeeper);
    expect(mapping.EventSourceArn).toEqual({ 'Fn::GetAtt': [logicalIdOf(outbox.relayFailureQueue), 'Arn'] });
    expect(mapping.FunctionResponseTypes).toEqual(['ReportBatchItemFailures']);
  });
});

describe('queues', () => {
  it('the events queue is high-throughput FIFO with explicit deduplication ids and a FIFO DLQ after 5 receives', () => {
    const queue = resources[logicalIdOf(outbox.eventsQueue)]!.Properties;
    expect(queue).toMatchObject({
      FifoQueue: true,
      ContentBasedDeduplication: false,
      DeduplicationScope: 'messageGroup',
      FifoThroughputLimit: 'perMessageGroupId',
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(outbox.eventsDlq), 'Arn'] }, maxReceiveCount: 5 },
    });
    expect(resources[logicalIdOf(outbox.eventsDlq)]!.Properties.FifoQueue).toBe(true);
  });

  it('every queue with a consumer has a visibility timeout of at least six times its function timeout', () => {
    const starterTimeout = resources[logicalIdOf(outbox.sagaStarter)]!.Properties.Timeout;
    const keeperTimeout = resources[logicalIdOf(outbox.failureKeeper)]!.Properties.Timeout;
    expect(resources[logicalIdOf(outbox.eventsQueue)]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * starterTimeout);
    expect(resources[logicalIdOf(outbox.relayFailureQueue)]!.Properties.VisibilityTimeout).toBeGreaterThanOrEqual(6 * keeperTimeout);
  });

  it('the failure queue redrives pointers the keeper cannot resolve to the relay dead-letter queue', () => {
    expect(resources[logicalIdOf(outbox.relayFailureQueue)]!.Properties.RedrivePolicy).toEqual({
      deadLetterTargetArn: { 'Fn::GetAtt': [logicalIdOf(outbox.relayDeadLetterQueue), 'Arn'] },
      maxReceiveCount: 5,
    });
  });

  it('every outbox queue is encrypted at rest and refuses requests without TLS', () => {
    const queues = [outbox.eventsQueue, outbox.eventsDlq, outbox.relayDeadLetterQueue, outbox.relayFailureQueue];
    for (const queue of queues) {
      const id = logicalIdOf(queue);
      expect(resources[id]!.Properties.SqsManagedSseEnabled, id).toBe(true);
      const policy = ofType('AWS::SQS::QueuePolicy').find(([, p]) => p.Properties.Queues.some((q: any) => q.Ref === id));
      expect(policy, `${id} has a queue policy`).toBeDefined();
      expect(policy![1].Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('dead-letter queues keep messages for 14 days', () => {
    for (const queue of [outbox.eventsDlq, outbox.relayDeadLetterQueue]) {
      expect(resources[logicalIdOf(queue)]!.Properties.MessageRetentionPeriod).toBe(14 * 24 * 3600);
    }
  });
});

describe('least-privilege grants', () => {
  it('the relay may send to the events queue and the relay dead-letter queue, and read the stream; nothing else', () => {
    const sendTargets = statementsOf(outbox.relay)
      .filter((statement) => actionsOf(statement).includes('sqs:SendMessage'))
      .flatMap((statement) => [statement.Resource].flat().map((resource: { 'Fn::GetAtt': [string, string] }) => resource['Fn::GetAtt'][0]));
    expect(new Set(sendTargets)).toEqual(
      new Set([logicalIdOf(outbox.eventsQueue), logicalIdOf(outbox.relayDeadLetterQueue), logicalIdOf(outbox.relayFailureQueue)]),
    );
    const actions = new Set(allActionsOf(outbox.relay));
    expect(actions).toContain('dynamodb:GetRecords');
    expect([...actions].filter((action) => !/^(sqs:(SendMessage|GetQueueAttributes|GetQueueUrl)|dynamodb:(DescribeStream|GetRecords|GetShardIterator|ListStreams)|logs:.*|xray:.*)$/.test(action))).toEqual([]);
    // GetQueueAttributes/GetQueueUrl only on the failure queue, where the mapping's on-failure destination (CDK's SqsDlq) grants them.
    const queueLookups = statementsOf(outbox.relay).filter((statement) => actionsOf(statement).includes('sqs:GetQueueUrl'));
    expect(queueLookups.map((statement) => statement.Resource['Fn::GetAtt'][0])).toEqual([logicalIdOf(outbox.relayFailureQueue)]);
  });

  it('the saga starter may start executions of the two sagas, and no more on them', () => {
    const statements = statementsOf(outbox.sagaStarter).filter((statement) => actionsOf(statement).some((a) => a.startsWith('states:')));
    expect(statements.flatMap(actionsOf)).toEqual(['states:StartExecution', 'states:StartExecution']);
    expect(statements.map((statement) => statement.Resource.Ref).sort()).toEqual(
      [expect.stringMatching(/^PaymentSaga/), expect.stringMatching(/^RefundSaga/)],
    );
    expect(allActionsOf(outbox.sagaStarter).filter((action) => action.startsWith('dynamodb:'))).toEqual([]);
  });

  it('the failure keeper may read the stream and send to the relay dead-letter queue only', () => {
    const actions = new Set(allActionsOf(outbox.failureKeeper));
    for (const action of ['dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'sqs:SendMessage', 'sqs:ReceiveMessage', 'sqs:DeleteMessage']) {
      expect(actions).toContain(action);
    }
    expect([...actions].filter((action) => action.startsWith('dynamodb:')).sort()).toEqual(['dynamodb:GetRecords', 'dynamodb:GetShardIterator']);
    expect([...actions].filter((action) => action.startsWith('states:'))).toEqual([]);
  });

  it('reconciliation reads the table, may update only the hand-over attributes, starts and describes executions, sends to saga failures', () => {
    const statements = statementsOf(reconciliation.function);
    const actions = new Set(statements.flatMap(actionsOf));
    for (const action of ['dynamodb:Query', 'dynamodb:GetItem', 'dynamodb:BatchGetItem', 'states:StartExecution', 'states:DescribeExecution', 'sqs:SendMessage']) {
      expect(actions).toContain(action);
    }
    const update = statements.find((statement) => actionsOf(statement).includes('dynamodb:UpdateItem'))!;
    expect(update.Condition['ForAllValues:StringEquals']['dynamodb:Attributes']).toEqual(['PK', 'SK', 'status', 'openEntity', 'reconciliationFlaggedAt', 'reconcileRestarts']);
    expect([...actions].filter((action) => /^dynamodb:(DeleteItem|BatchWriteItem|Scan)$/.test(action))).toEqual([]);
  });

  it('reconciliation queries the lookup and open-items indexes, and its cursors only in their own partition, where alone it may put', () => {
    const statements = statementsOf(reconciliation.function);
    const resourceOf = (statement: Record<string, any>) => JSON.stringify(statement.Resource);
    const queries = statements.filter((statement) => actionsOf(statement).includes('dynamodb:Query'));
    expect(queries.filter((statement) => /index\/(lookup|open-items)/.test(resourceOf(statement))).map((statement) => resourceOf(statement).match(/index\/([a-z-]+)/)![1]).sort()).toEqual(['lookup', 'open-items']);
    const onTable = queries.filter((statement) => !/index\//.test(resourceOf(statement)));
    expect(onTable).toHaveLength(1);
    expect(onTable[0]!.Condition).toEqual({ 'ForAllValues:StringEquals': { 'dynamodb:LeadingKeys': [PAYMENT_SCAN_CURSORS_PK] } });
    const puts = statements.filter((statement) => actionsOf(statement).includes('dynamodb:PutItem'));
    expect(puts).toHaveLength(1);
    expect(actionsOf(puts[0]!)).toEqual(['dynamodb:PutItem']);
    expect(puts[0]!.Condition['ForAllValues:StringEquals']).toEqual({
      'dynamodb:LeadingKeys': [PAYMENT_SCAN_CURSORS_PK],
      'dynamodb:Attributes': [...PAYMENT_SCAN_CURSOR_ATTRIBUTES],
    });
    const storedCursor = paymentScanCursorItem({ merchantId: 'merchant-a', after: '2026-12-02T00:00:00.000Z#pay_1', watching: ['pay_0'], version: 1 });
    expect(Object.keys(storedCursor).filter((attribute) => !(PAYMENT_SCAN_CURSOR_ATTRIBUTES as readonly string[]).includes(attribute))).toEqual([]);
  });
});

describe('reconciliation schedule', () => {
  it('runs the reconcile function every 5 minutes with the stuck-after bound and the queues it needs', () => {
    template.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [logicalIdOf(reconciliation.function), 'Arn'] } })],
    });
    const environment = resources[logicalIdOf(reconciliation.function)]!.Properties.Environment.Variables;
    expect(environment).toMatchObject({ STUCK_AFTER_SECONDS: '900', SAGA_FAILURES_QUEUE_URL: { Ref: expect.stringMatching(/^SagaFailures/) }, RECONCILE_MERCHANT_IDS: 'merchant-a,merchant-b' });
    expect(Object.keys(environment)).toEqual(expect.arrayContaining(['PAYMENTS_TABLE_NAME', 'PAYMENT_SAGA_ARN', 'REFUND_SAGA_ARN']));
  });
});
