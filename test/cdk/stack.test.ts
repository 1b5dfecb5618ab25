import { Match } from 'aws-cdk-lib/assertions';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MERCHANTS, pascalCase } from '../../lib/payflow-config.ts';
import { buildApp } from '../../lib/app.ts';
import { CIRCUIT_STATE_METRIC } from '../../lambdas/application/circuit-breaker.ts';
import { OLDEST_OPEN_AGE_METRICS } from '../../lambdas/application/reconcile.ts';
import { logicalIdOf, referencedLogicalId, resourcesOfType, synthesize, type Synthesized } from './synth.ts';

let prod: Synthesized;
let dev: Synthesized;

beforeAll(() => {
  prod = synthesize();
  dev = synthesize({
    'payflow:dev': true,
    'payflow:idempotencyTtlSeconds': 3600,
    'payflow:merchants': JSON.stringify([{ id: 'acme-shop', tier: 'gold' }]),
    'payflow:tiers': { gold: { rateLimit: 7, burstLimit: 14, dailyQuota: 1000 } },
    'payflow:alarmEmail': 'oncall@example.com',
  });
});

const TABLE = 'AWS::DynamoDB::Table';

describe('tables', () => {
  it('the idempotency table expires records through TTL on `expiration`', () => {
    prod.template.hasResourceProperties(TABLE, {
      KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
      TimeToLiveSpecification: { AttributeName: 'expiration', Enabled: true },
    });
  });

  it('the payments table streams new and old images (the outbox) and has point-in-time recovery', () => {
    prod.template.hasResourceProperties(TABLE, {
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      StreamSpecification: { StreamViewType: 'NEW_AND_OLD_IMAGES' },
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
    });
  });

  it('every table is encrypted at rest, on demand, with point-in-time recovery', () => {
    const tables = resourcesOfType(prod.json, TABLE);
    expect(tables).toHaveLength(6);
    for (const [, table] of tables) {
      expect(table.Properties?.SSESpecification).toEqual({ SSEEnabled: true });
      expect(table.Properties?.BillingMode).toBe('PAY_PER_REQUEST');
      expect(table.Properties?.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
    }
  });

  it('tables are retained when the stack is deleted, by default', () => {
    for (const [, table] of resourcesOfType(prod.json, TABLE)) {
      expect(table.DeletionPolicy).toBe('Retain');
      expect(table.UpdateReplacePolicy).toBe('Retain');
    }
  });

  it('tables are deleted with a payflow:dev stack', () => {
    for (const [, table] of resourcesOfType(dev.json, TABLE)) {
      expect(table.DeletionPolicy).toBe('Delete');
    }
  });
});

describe('context', () => {
  const postFunctionEnv = (synthesized: Synthesized) =>
    resourcesOfType(synthesized.json, 'AWS::Lambda::Function')
      .filter(([logicalId]) => /^Api(CreatePayment|CreateRefund)Function/.test(logicalId))
      .map(([, fn]) => fn.Properties?.Environment?.Variables as Record<string, unknown>);

  it('payflow:idempotencyTtlSeconds defaults to 86400 on the POST functions', () => {
    const envs = postFunctionEnv(prod);
    expect(envs).toHaveLength(2);
    for (const env of envs) expect(env.IDEMPOTENCY_TTL_SECONDS).toBe('86400');
  });

  it('payflow:idempotencyTtlSeconds sets IDEMPOTENCY_TTL_SECONDS of the POST functions', () => {
    const envs = postFunctionEnv(dev);
    expect(envs).toHaveLength(2);
    for (const env of envs) expect(env.IDEMPOTENCY_TTL_SECONDS).toBe('3600');
  });

  it('payflow:merchants and payflow:tiers (JSON strings from -c, or objects) give keys, plans, quotas and outputs', () => {
    dev.template.resourceCountIs('AWS::ApiGateway::ApiKey', 1);
    dev.template.resourceCountIs('AWS::ApiGateway::UsagePlan', 1);
    dev.template.hasResourceProperties('AWS::ApiGateway::UsagePlan', {
      Throttle: { RateLimit: 7, BurstLimit: 14 },
      Quota: { Limit: 1000, Period: 'DAY' },
    });
    expect(Object.keys(dev.json.Outputs ?? {})).toContain('ApiKeyIdAcmeShop');
    expect(Object.keys(dev.json.Outputs ?? {})).not.toContain('ApiKeyIdMerchantA');
  });

  it('a merchant of an unknown tier fails synthesis with a message that names it', () => {
    expect(() => buildApp({ context: { 'payflow:merchants': [{ id: 'lost', tier: 'platinum' }] } })).toThrow(
      /merchant lost has unknown tier platinum/,
    );
  });

  it('payflow:circuitBreaker sets the breaker of Authorize and its wait; a hold too long for Express fails synthesis', () => {
    const { stack } = synthesize({ 'payflow:circuitBreaker': JSON.stringify({ failureThreshold: 5, openSeconds: 12, holdSeconds: 60, waitSeconds: 5 }) });
    const authorize = stack.saga.functions.find((fn) => fn.node.id === 'AuthorizeFunction')!;
    const resource = Template.fromStack(stack).toJSON().Resources[stack.getLogicalId(authorize.node.defaultChild as never)];
    expect(resource.Properties.Environment.Variables).toMatchObject({ BREAKER_FAILURE_THRESHOLD: '5', BREAKER_WINDOW_SECONDS: '60', BREAKER_OPEN_SECONDS: '12' });
    expect(stack.config.circuitBreaker).toEqual({ failureThreshold: 5, windowSeconds: 60, openSeconds: 12, holdSeconds: 60, waitSeconds: 5 });
    expect(() => buildApp({ context: { 'payflow:sagaType': 'EXPRESS', 'payflow:circuitBreaker': { holdSeconds: 600 } } })).toThrow(/holdSeconds must be at most 120/);
    expect(() => buildApp({ context: { 'payflow:circuitBreaker': { failureThreshold: 0 } } })).toThrow(/payflow:\* context/);
  });

  it('bulkheads: the processor callers have a reserved-concurrency ceiling (20 by default), the API none unless payflow:concurrency says', () => {
    const reserved = (s: Synthesized) =>
      Object.fromEntries(
        resourcesOfType(s.json, 'AWS::Lambda::Function')
          .filter(([, fn]) => fn.Properties?.ReservedConcurrentExecutions !== undefined)
          .map(([id, fn]) => [id.replace(/[0-9A-F]{8}$/, ''), fn.Properties!.ReservedConcurrentExecutions]),
      );
    expect(reserved(prod)).toEqual({
      SagaAuthorizeFunction: 20,
      SagaCaptureFunction: 20,
      SagaVoidAuthorizationFunction: 20,
      SagaRefundCaptureFunction: 20,
      SagaRefundAtProcessorFunction: 20,
      DailyReconciliationReconcileDay: 1,
    });
    const configured = synthesize({ 'payflow:concurrency': JSON.stringify({ processorTasks: 5, api: 30 }) });
    expect(reserved(configured)).toMatchObject({ SagaAuthorizeFunction: 5, ApiCreatePaymentFunction: 30, ApiGetPaymentFunction: 30, ApiCreateRefundFunction: 30 });
  });

  it('an unknown saga type fails synthesis', () => {
    expect(() => buildApp({ context: { 'payflow:sagaType': 'TURBO' } })).toThrow(/payflow:\* context/);
  });
});

describe('outputs (read by the acceptance suite from cdk deploy --outputs-file)', () => {
  it('ApiUrl is the v1 stage URL, ending in /v1/', () => {
    const value = prod.json.Outputs?.ApiUrl?.Value as { 'Fn::Join': [string, unknown[]] };
    const parts = value['Fn::Join'][1];
    expect(parts.at(-1)).toBe('/');
    const stageLogicalId = referencedLogicalId(parts.at(-2));
    expect(prod.json.Resources[stageLogicalId!]).toMatchObject({ Type: 'AWS::ApiGateway::Stage', Properties: { StageName: 'v1' } });
  });

  it('one ApiKeyId<Merchant> per merchant, the id of that merchant\'s key', () => {
    for (const merchant of DEFAULT_MERCHANTS) {
      const output = prod.json.Outputs?.[`ApiKeyId${pascalCase(merchant.id)}`];
      expect(output, merchant.id).toBeDefined();
      const keyLogicalId = referencedLogicalId(output!.Value);
      expect(keyLogicalId).toBe(logicalIdOf(prod.json, 'AWS::ApiGateway::ApiKey', `Api${pascalCase(merchant.id)}ApiKey`));
    }
    expect(Object.keys(prod.json.Outputs ?? {})).toEqual(
      expect.arrayContaining(['ApiKeyIdMerchantA', 'ApiKeyIdMerchantB', 'ApiKeyIdThrottleProbe']),
    );
  });

  it.each([
    ['EventsQueueUrl', 'AWS::SQS::Queue', 'OutboxEventsQueue'],
    ['EventsDlqUrl', 'AWS::SQS::Queue', 'OutboxEventsDlq'],
    ['RelayDeadLetterQueueUrl', 'AWS::SQS::Queue', 'OutboxRelayDeadLetterQueue'],
    ['RelayFailureQueueUrl', 'AWS::SQS::Queue', 'OutboxRelayFailureQueue'],
    ['SagaFailuresQueueUrl', 'AWS::SQS::Queue', 'SagaSagaFailuresQueue'],
    ['PaymentSagaArn', 'AWS::StepFunctions::StateMachine', 'SagaPaymentSaga'],
    ['RefundSagaArn', 'AWS::StepFunctions::StateMachine', 'SagaRefundSaga'],
    ['OutboxRelayFunctionName', 'AWS::Lambda::Function', 'OutboxRelay'],
  ])('%s refers to the %s %s', (name, type, prefix) => {
    expect(referencedLogicalId(prod.json.Outputs?.[name]?.Value)).toBe(logicalIdOf(prod.json, type, prefix));
  });

  it('table names and the alarm topic', () => {
    const outputs = prod.json.Outputs ?? {};
    expect(referencedLogicalId(outputs.PaymentsTableName?.Value)).toMatch(/^DataPaymentsTable/);
    expect(referencedLogicalId(outputs.IdempotencyTableName?.Value)).toMatch(/^DataIdempotencyTable/);
    expect(referencedLogicalId(outputs.ProcessorTableName?.Value)).toMatch(/^DataSimulatedProcessorTable/);
    expect(referencedLogicalId(outputs.CircuitBreakerTableName?.Value)).toMatch(/^DataCircuitBreakerTable/);
    expect(prod.json.Resources[referencedLogicalId(outputs.AlarmTopicArn?.Value)!]?.Type).toBe('AWS::SNS::Topic');
  });
});

interface AlarmMetric {
  Namespace?: string;
  MetricName?: string;
  Dimensions?: Array<{ Name: string; Value: unknown }>;
}

/** The metric an alarm watches, whether written as a plain metric or as a single MetricStat. */
function alarmMetric(alarm: Record<string, any>): AlarmMetric {
  if (alarm.MetricName) return alarm;
  const stats = (alarm.Metrics ?? []).filter((m: { MetricStat?: unknown }) => m.MetricStat);
  return stats.length === 1 ? stats[0].MetricStat.Metric : {};
}

describe('observability', () => {
  const alarms = () => resourcesOfType(prod.json, 'AWS::CloudWatch::Alarm').map(([, alarm]) => alarm.Properties!);
  const topicId = () => logicalIdOf(prod.json, 'AWS::SNS::Topic', 'ObservabilityAlarmTopic');
  /** The alarm on `metricName` of `namespace` whose first dimension refers to `logicalId` (any when omitted). */
  const alarmOn = (namespace: string, metricName: string, logicalId?: string) =>
    alarms().find((alarm) => {
      const metric = alarmMetric(alarm);
      return (
        metric.Namespace === namespace &&
        metric.MetricName === metricName &&
        (logicalId === undefined || referencedLogicalId(metric.Dimensions?.[0]?.Value) === logicalId)
      );
    });

  it('the alarm topic is KMS-encrypted with a rotated key that CloudWatch may use, and TLS-only', () => {
    const topic = prod.json.Resources[topicId()]!;
    const keyId = referencedLogicalId(topic.Properties?.KmsMasterKeyId);
    expect(prod.json.Resources[keyId!]).toMatchObject({ Type: 'AWS::KMS::Key', Properties: { EnableKeyRotation: true } });
    prod.template.hasResourceProperties('AWS::KMS::Key', {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: 'cloudwatch.amazonaws.com' },
            Action: Match.arrayWith(['kms:Decrypt', 'kms:GenerateDataKey*']),
          }),
        ]),
      },
    });
    prod.template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      Topics: [{ Ref: topicId() }],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          Match.objectLike({ Effect: 'Allow', Principal: { Service: 'cloudwatch.amazonaws.com' }, Action: 'sns:Publish' }),
        ]),
      },
    });
  });

  it('every alarm notifies the alarm topic', () => {
    expect(alarms().length).toBeGreaterThan(0);
    for (const alarm of alarms()) expect(alarm.AlarmActions, alarm.AlarmName).toEqual([{ Ref: topicId() }]);
  });

  it('every function has an error alarm and a throttle alarm', () => {
    const functionIds = resourcesOfType(prod.json, 'AWS::Lambda::Function').map(([logicalId]) => logicalId);
    expect(functionIds.length).toBeGreaterThanOrEqual(3);
    for (const functionId of functionIds) {
      expect(alarmOn('AWS/Lambda', 'Errors', functionId), `${functionId} Errors`).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold' });
      expect(alarmOn('AWS/Lambda', 'Throttles', functionId), `${functionId} Throttles`).toMatchObject({ Threshold: 0 });
    }
  });

  it('any error of an API function alarms; saga task errors (declines, transient processor errors) alarm as a sustained rate', () => {
    const [apiFunctionId] = resourcesOfType(prod.json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('ApiCreatePaymentFunction'))!;
    expect(alarmOn('AWS/Lambda', 'Errors', apiFunctionId)).toMatchObject({ Threshold: 0, DatapointsToAlarm: 1 });
    const [authorizeId] = resourcesOfType(prod.json, 'AWS::Lambda::Function').find(([id]) => id.startsWith('SagaAuthorizeFunction'))!;
    const rate = alarmOn('AWS/Lambda', 'Errors', authorizeId)!;
    expect(rate.Metrics[0].MetricStat.Stat).toBe('Average');
    expect(rate).toMatchObject({ Threshold: 0.5, DatapointsToAlarm: 3, EvaluationPeriods: 3 });
  });

  it('every dead-letter queue has a depth > 0 alarm', () => {
    const queueId = (prefix: string) => logicalIdOf(prod.json, 'AWS::SQS::Queue', prefix);
    const deadLetterQueueIds = new Set([
      queueId('OutboxEventsDlq'),
      queueId('OutboxRelayDeadLetterQueue'),
      queueId('OutboxRelayFailureQueue'),
      queueId('SagaSagaFailuresQueue'),
    ]);
    // And whatever a redrive policy names.
    for (const [, queue] of resourcesOfType(prod.json, 'AWS::SQS::Queue')) {
      const target = queue.Properties?.RedrivePolicy?.deadLetterTargetArn;
      if (target) deadLetterQueueIds.add(referencedLogicalId(target)!);
    }
    for (const id of deadLetterQueueIds) {
      expect(alarmOn('AWS/SQS', 'ApproximateNumberOfMessagesVisible', id), id).toMatchObject({
        Threshold: 0,
        ComparisonOperator: 'GreaterThanThreshold',
        DatapointsToAlarm: 1,
      });
    }
  });

  it('every state machine alarms on failed, timed-out and aborted executions', () => {
    const stateMachines = resourcesOfType(prod.json, 'AWS::StepFunctions::StateMachine');
    expect(stateMachines).toHaveLength(2);
    for (const [stateMachineId] of stateMachines) {
      for (const metricName of ['ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted']) {
        expect(alarmOn('AWS/States', metricName, stateMachineId), `${stateMachineId} ${metricName}`).toMatchObject({
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
        });
      }
    }
  });

  it('stream consumers alarm on iterator age', () => {
    const mappings = resourcesOfType(prod.json, 'AWS::Lambda::EventSourceMapping').filter(([, mapping]) =>
      JSON.stringify(mapping.Properties?.EventSourceArn).includes('StreamArn'),
    );
    expect(mappings.length).toBeGreaterThan(0);
    for (const [, mapping] of mappings) {
      const functionId = referencedLogicalId(mapping.Properties?.FunctionName);
      expect(alarmOn('AWS/Lambda', 'IteratorAge', functionId), `${functionId} IteratorAge`).toMatchObject({ Threshold: 300_000 });
    }
  });

  it('the API alarms on any 5xx of stage v1 and on sustained 429s counted from the access log', () => {
    const fiveXx = alarmOn('AWS/ApiGateway', '5XXError');
    expect(fiveXx).toMatchObject({ Threshold: 0, ComparisonOperator: 'GreaterThanThreshold' });
    const dimensions = alarmMetric(fiveXx!).Dimensions!;
    expect(dimensions.find((d) => d.Name === 'ApiName')?.Value).toBe(
      prod.json.Resources[logicalIdOf(prod.json, 'AWS::ApiGateway::RestApi', 'ApiRestApi')]!.Properties?.Name,
    );
    const stageId = referencedLogicalId(dimensions.find((d) => d.Name === 'Stage')?.Value);
    expect(prod.json.Resources[stageId!]?.Properties?.StageName).toBe('v1');

    prod.template.hasResourceProperties('AWS::Logs::MetricFilter', {
      FilterPattern: '{ $.status = 429 }',
      LogGroupName: { Ref: logicalIdOf(prod.json, 'AWS::Logs::LogGroup', 'ApiAccessLogs') },
      MetricTransformations: [Match.objectLike({ MetricNamespace: 'Payflow', MetricName: 'ApiThrottledRequests', MetricValue: '1' })],
    });
    expect(alarmOn('Payflow', 'ApiThrottledRequests')).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 100 });
  });

  it('the processor circuit breaker alarms while open (its gauge from Authorize at 2); a minute without payments keeps the alarm as it was', () => {
    const alarm = alarmOn('Payflow', CIRCUIT_STATE_METRIC);
    expect(alarm).toMatchObject({ ComparisonOperator: 'GreaterThanOrEqualToThreshold', Threshold: 2, TreatMissingData: 'ignore' });
    expect(JSON.stringify(alarm)).toMatch(/"(Stat|Statistic)":"Maximum"/);
    expect(alarmMetric(alarm!).Dimensions).toEqual([{ Name: 'service', Value: 'payflow' }]);
    expect(alarm!.AlarmActions).toEqual([{ Ref: topicId() }]);
  });

  it('stuck-payment signals: the oldest open payment and refund (published by reconciliation) alarm past 30 minutes', () => {
    for (const metricName of Object.values(OLDEST_OPEN_AGE_METRICS)) {
      const alarm = alarmOn('Payflow', metricName);
      expect(alarm, metricName).toMatchObject({ ComparisonOperator: 'GreaterThanThreshold', Threshold: 1800 });
      expect(alarm!.AlarmActions).toEqual([{ Ref: topicId() }]);
    }
  });

  it('payflow:alarmEmail subscribes an address to the alarm topic; no subscription by default', () => {
    dev.template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
    prod.template.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it('a dashboard', () => {
    prod.template.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('webhooks (issue 11)', () => {
  const dispatcherEnvironment = (synthesized: Synthesized) =>
    Object.entries(synthesized.json.Resources).find(([id, r]) => r.Type === 'AWS::Lambda::Function' && id.startsWith('WebhooksDispatcher'))![1].Properties?.Environment?.Variables;

  it('the recorder is a second consumer of the Payments stream, filtered like the relay, apart from the saga path', () => {
    const mappings = Object.values(prod.json.Resources).filter((r) => r.Type === 'AWS::Lambda::EventSourceMapping' && JSON.stringify(r.Properties?.EventSourceArn).includes('StreamArn'));
    expect(mappings).toHaveLength(2);
    for (const mapping of mappings) expect(JSON.stringify(mapping.Properties?.FilterCriteria)).toContain('payment');
  });

  it('events expire after 30 days (TTL); deliveries retry through their own standard queue; the webhook DLQ is alarmed', () => {
    const table = Object.entries(prod.json.Resources).find(([id, r]) => r.Type === 'AWS::DynamoDB::Table' && id.startsWith('WebhooksWebhooksTable'))![1];
    expect(table.Properties?.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
    expect(prod.stack.webhooks.deliveryQueue.fifo).toBe(false);
    const alarms = Object.values(prod.template.findResources('AWS::CloudWatch::Alarm')).map((alarm) => JSON.stringify(alarm));
    expect(alarms.some((alarm) => alarm.includes('WebhooksWebhookDlq'))).toBe(true);
  });

  it('signing secrets: a rotating customer-managed key; the endpoints function may only GenerateDataKey with it, the dispatcher only Decrypt', () => {
    const keyId = logicalIdOf(prod.json, 'AWS::KMS::Key', 'WebhooksSigningSecretsKey');
    expect(prod.json.Resources[keyId]!.Properties).toMatchObject({ EnableKeyRotation: true });
    const kmsGrants: string[] = [];
    for (const [, policy] of resourcesOfType(prod.json, 'AWS::IAM::Policy')) {
      const roles = (policy.Properties?.Roles as unknown[]).map((role) => referencedLogicalId(role)!.replace(/[0-9A-F]{8}$/, ''));
      for (const statement of policy.Properties?.PolicyDocument.Statement as Array<{ Action: string | string[]; Resource: unknown }>) {
        const actions = [statement.Action].flat().filter((action) => action.startsWith('kms:'));
        if (actions.length === 0 || !JSON.stringify(statement.Resource).includes(keyId)) continue;
        for (const role of roles) kmsGrants.push(`${role} ${actions.join(',')} ${referencedLogicalId(statement.Resource)}`);
      }
    }
    expect(kmsGrants.sort()).toEqual([`WebhooksDispatcherRole kms:Decrypt ${keyId}`, `WebhooksEndpointsFunctionRole kms:GenerateDataKey ${keyId}`]);
    const keyArn = { 'Fn::GetAtt': [keyId, 'Arn'] };
    expect(dispatcherEnvironment(prod)).toMatchObject({ WEBHOOK_SIGNING_KEY_ARN: keyArn });
  });

  it('the twin dev mode (http://127.0.0.1 endpoints) is off unless the context turns it on', () => {
    expect(dispatcherEnvironment(prod)).toMatchObject({ WEBHOOK_DEV_MODE: 'false', WEBHOOK_TIMEOUT_SECONDS: '10', WEBHOOK_RETRY_WINDOW_SECONDS: String(3 * 24 * 3600) });
    expect(dispatcherEnvironment(synthesize({ 'payflow:webhooks': { devMode: true } }))).toMatchObject({ WEBHOOK_DEV_MODE: 'true' });
  });
});
