import { App, RemovalPolicy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { PaymentSaga } from '../../lib/constructs/payment-saga.ts';
import { PaymentsData } from '../../lib/constructs/payments-data.ts';
import { Processor } from '../../lib/constructs/processor.ts';
import type { CircuitBreakerConfig } from '../../lib/payflow-config.ts';
import { createIntrinsicResolver, type TemplateValue } from '../../tools/local-runner/intrinsics.ts';

type Resource = { Type: string; Properties: Record<string, any> };
type AslState = Record<string, any>;

interface Synthesized {
  stack: Stack;
  saga: PaymentSaga;
  data: PaymentsData;
  resources: Record<string, Resource>;
}

const BREAKER: CircuitBreakerConfig = { failureThreshold: 10, windowSeconds: 60, openSeconds: 30, holdSeconds: 120, waitSeconds: 10 };

/** The construct in a stack of its own, without bundling (these tests read the template, not the bundles). */
function synthesize(sagaType: 'STANDARD' | 'EXPRESS'): Synthesized {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stack = new Stack(app, 'SagaTest');
  const data = new PaymentsData(stack, 'Data', { removalPolicy: RemovalPolicy.DESTROY });
  const saga = new PaymentSaga(stack, 'Saga', {
    paymentsTable: data.paymentsTable,
    processor: new Processor(stack, 'Processor', { kind: 'simulated', processorTable: data.processorTable }),
    circuitBreakerTable: data.circuitBreakerTable,
    circuitBreaker: BREAKER,
    sagaType,
  });
  return { stack, saga, data, resources: Template.fromStack(stack).toJSON().Resources };
}

let standard: Synthesized;
let express: Synthesized;
beforeAll(() => {
  standard = synthesize('STANDARD');
  express = synthesize('EXPRESS');
}, 120_000);

const logicalIdOf = (s: Synthesized, construct: { node: { defaultChild?: unknown } }) => s.stack.getLogicalId(construct.node.defaultChild as never);
const ofType = (s: Synthesized, type: string) => Object.entries(s.resources).filter(([, resource]) => resource.Type === type);

/** The ASL of a state machine: its DefinitionString with the tokens resolved to placeholders. */
function definitionOf(s: Synthesized, stateMachine: { node: { defaultChild?: unknown } }): { StartAt: string; States: Record<string, AslState> } {
  const resolve = createIntrinsicResolver({ ref: (id) => `ref:${id}`, getAtt: (id, attribute) => `${id}.${attribute}` });
  const text = resolve(s.resources[logicalIdOf(s, stateMachine)]!.Properties.DefinitionString as TemplateValue);
  return JSON.parse(text as string);
}

const retrierFor = (state: AslState, error: string) => (state.Retry as AslState[]).find((retrier) => retrier.ErrorEquals.includes(error));
const catcherFor = (state: AslState, error: string) => (state.Catch as AslState[]).find((catcher) => catcher.ErrorEquals.includes(error));

describe('PaymentSaga states (CONTRACT "Sagas")', () => {
  let states: Record<string, AslState>;
  beforeAll(() => {
    states = definitionOf(standard, standard.saga.paymentSaga).States;
  });

  it('has the contract states, starting at Authorize', () => {
    expect(definitionOf(standard, standard.saga.paymentSaga).StartAt).toBe('Authorize');
    for (const name of ['Authorize', 'Capture', 'PostLedger', 'VoidAuthorization', 'RefundCapture', 'MarkFailed', 'SendToSagaFailures', 'CompensationFailed']) {
      expect(states, name).toHaveProperty(name);
    }
    expect(states.CompensationFailed).toMatchObject({ Type: 'Fail', Error: 'CompensationFailed' });
  });

  it('every Lambda task is a default LambdaInvoke selecting $.Payload', () => {
    const lambdaTasks = Object.values(states).filter((state) => state.Resource === 'arn:aws:states:::lambda:invoke');
    expect(lambdaTasks).toHaveLength(6);
    for (const state of lambdaTasks) expect(state).toMatchObject({ OutputPath: '$.Payload', Parameters: { 'Payload.$': '$' } });
  });

  it('the happy path is Authorize → Capture → PostLedger (the end), every compensated path ends at MarkFailed: no Choice, Pass or Succeed to pay for on the way', () => {
    expect(states.Authorize!.Next).toBe('Capture');
    expect(states.Capture!.Next).toBe('PostLedger');
    expect(states.PostLedger).toMatchObject({ End: true });
    expect(states.MarkFailed).toMatchObject({ End: true });
    expect(Object.entries(states).filter(([, state]) => ['Succeed', 'Choice'].includes(state.Type)).map(([name]) => name)).toEqual([]);
  });

  it('a payment Authorize cannot read (nothing sent yet) is read again for about a minute, then goes to an operator, like a missing one; never voided or failed', () => {
    expect(retrierFor(states.Authorize!, 'PaymentUnreadable')).toEqual({ ErrorEquals: ['PaymentUnreadable'], IntervalSeconds: 1, BackoffRate: 2, MaxAttempts: 6, MaxDelaySeconds: 20, JitterStrategy: 'FULL' });
    expect(catcherFor(states.Authorize!, 'PaymentUnreadable')).toEqual({ ErrorEquals: ['PaymentNotFound', 'PaymentUnreadable'], ResultPath: '$.error', Next: 'SendToSagaFailures' });
    const catchers = (states.Authorize!.Catch as AslState[]).map((catcher) => catcher.ErrorEquals[0]);
    expect(catchers.indexOf('PaymentNotFound')).toBeLessThan(catchers.indexOf('States.ALL'));
  });

  it.each(['Authorize', 'Capture'])('%s retries only transient processor errors, with backoff and full jitter', (name) => {
    expect(retrierFor(states[name]!, 'ProcessorUnavailable')).toMatchObject({
      ErrorEquals: ['ProcessorUnavailable', 'ProcessorTimeout'],
      IntervalSeconds: 1,
      BackoffRate: 2,
      JitterStrategy: 'FULL',
    });
    expect(retrierFor(states[name]!, 'States.ALL')).toBeUndefined();
    expect(retrierFor(states[name]!, 'PaymentDeclined')).toBeUndefined();
  });

  it('Authorize gives up on a transient error after 4 retries; Capture, never held by the breaker, settles for longer (8, 20 s caps)', () => {
    expect(retrierFor(states.Authorize!, 'ProcessorUnavailable')).toMatchObject({ MaxAttempts: 4 });
    expect(retrierFor(states.Capture!, 'ProcessorUnavailable')).toMatchObject({ MaxAttempts: 8, MaxDelaySeconds: 20 });
    expect(retrierFor(states.Capture!, 'CircuitOpen')).toBeUndefined();
  });

  it('while the circuit breaker is open, Authorize waits every waitSeconds up to holdSeconds (no jitter: the hold is exact), then voids like an outage', () => {
    expect(retrierFor(states.Authorize!, 'CircuitOpen')).toEqual({ ErrorEquals: ['CircuitOpen'], IntervalSeconds: 10, BackoffRate: 1, MaxAttempts: 12 });
    // The breaker's retrier is separate from the transient one: waiting does not use up the transient retries.
    expect(retrierFor(states.Authorize!, 'ProcessorUnavailable')!.ErrorEquals).not.toContain('CircuitOpen');
    expect(catcherFor(states.Authorize!, 'CircuitOpen')).toBeUndefined();
    expect(catcherFor(states.Authorize!, 'States.ALL')).toBeDefined();
  });

  it('every Lambda task retries a throttled invocation (a bulkhead at its ceiling: nothing ran), never catches it as a failure', () => {
    for (const [name, state] of Object.entries(states).filter(([, state]) => state.Resource === 'arn:aws:states:::lambda:invoke')) {
      expect(state.Retry[1], name).toEqual({
        ErrorEquals: ['Lambda.TooManyRequestsException'],
        IntervalSeconds: 1,
        BackoffRate: 2,
        MaxAttempts: 8,
        MaxDelaySeconds: 20,
        JitterStrategy: 'FULL',
      });
    }
  });

  it('every Lambda task runs its function again when it timed out or crashed (it says nothing about the card), on the settle schedule', () => {
    for (const [name, state] of Object.entries(states).filter(([, state]) => state.Resource === 'arn:aws:states:::lambda:invoke')) {
      expect(state.Retry[2], name).toEqual({
        ErrorEquals: ['Sandbox.Timedout', 'Runtime.ExitError', 'Lambda.Unknown'],
        IntervalSeconds: 1,
        BackoffRate: 2,
        MaxAttempts: 8,
        MaxDelaySeconds: 20,
        JitterStrategy: 'FULL',
      });
    }
  });

  it('a decline goes straight to MarkFailed; other authorize errors void first', () => {
    expect(catcherFor(states.Authorize!, 'PaymentDeclined')).toEqual({ ErrorEquals: ['PaymentDeclined'], ResultPath: '$.error', Next: 'MarkFailed' });
    const other = catcherFor(states.Authorize!, 'States.ALL')!;
    expect(states[other.Next]).toMatchObject({ Type: 'Pass', Result: 'processor_unavailable', ResultPath: '$.failureCode', Next: 'VoidAuthorization' });
  });

  it('a capture failure voids the authorization, then marks the payment failed (capture_failed)', () => {
    const refused = catcherFor(states.Capture!, 'CaptureFailed')!;
    expect(states[refused.Next]).toMatchObject({ Result: 'capture_failed', Next: 'VoidAuthorization' });
    expect(states.VoidAuthorization!.Next).toBe('MarkFailed');
  });

  it('only a posting that certainly did not commit refunds the capture, then marks the payment failed (ledger_failed)', () => {
    const refused = catcherFor(states.PostLedger!, 'PaymentStateConflict')!;
    expect(refused.ErrorEquals).toEqual(['PaymentStateConflict', 'WriteRefused']);
    expect(states[refused.Next]).toMatchObject({ Result: 'ledger_failed', Next: 'RefundCapture' });
    expect(states.RefundCapture!.Next).toBe('MarkFailed');
  });

  it('an outcome still unknown after the retries goes to an operator, never to a refund', () => {
    expect(catcherFor(states.PostLedger!, 'States.ALL')).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'SendToSagaFailures' });
  });

  it.each(['PostLedger'])('%s never retries a certain refusal and retries everything else, with full jitter', (name) => {
    expect(retrierFor(states[name]!, 'PaymentStateConflict')).toMatchObject({ MaxAttempts: 0 });
    expect(retrierFor(states[name]!, 'WriteRefused')).toMatchObject({ MaxAttempts: 0 });
    expect(retrierFor(states[name]!, 'States.ALL')).toMatchObject({ MaxAttempts: 6, BackoffRate: 2, MaxDelaySeconds: 20, JitterStrategy: 'FULL' });
  });

  it.each(['VoidAuthorization', 'RefundCapture', 'MarkFailed'])('compensation %s retries anything 8 times (20 s caps), then goes to SendToSagaFailures', (name) => {
    expect(retrierFor(states[name]!, 'States.ALL')).toMatchObject({ MaxAttempts: 8, MaxDelaySeconds: 20, JitterStrategy: 'FULL', BackoffRate: 2 });
    expect(catcherFor(states[name]!, 'States.ALL')).toEqual({ ErrorEquals: ['States.ALL'], ResultPath: '$.compensationError', Next: 'SendToSagaFailures' });
  });

  it('SendToSagaFailures sends the whole state and where it failed to the saga-failures queue, then CompensationFailed', () => {
    expect(states.SendToSagaFailures).toMatchObject({
      Resource: 'arn:aws:states:::sqs:sendMessage',
      Parameters: {
        QueueUrl: `ref:${logicalIdOf(standard, standard.saga.sagaFailuresQueue)}`,
        MessageBody: { saga: 'payment', 'executionArn.$': '$$.Execution.Id', 'state.$': '$' },
      },
      ResultPath: null,
      Next: 'CompensationFailed',
    });
  });
});

describe('RefundSaga states (CONTRACT "Sagas")', () => {
  let states: Record<string, AslState>;
  beforeAll(() => {
    states = definitionOf(standard, standard.saga.refundSaga).States;
  });

  it('RefundAtProcessor → PostRefundLedger (the end, no Choice between them); processor refusal → ReleaseRefund (the end)', () => {
    expect(definitionOf(standard, standard.saga.refundSaga).StartAt).toBe('RefundAtProcessor');
    expect(states.RefundAtProcessor!.Next).toBe('PostRefundLedger');
    expect(Object.values(states).filter((state) => ['Succeed', 'Choice'].includes(state.Type))).toEqual([]);
    expect(states.PostRefundLedger).toMatchObject({ End: true });
    expect(states.ReleaseRefund).toMatchObject({ End: true });
    expect(catcherFor(states.RefundAtProcessor!, 'RefundFailed')).toMatchObject({ ErrorEquals: ['RefundFailed', 'ProcessorUnavailable'], Next: 'ReleaseRefund' });
    expect(retrierFor(states.ReleaseRefund!, 'States.ALL')).toMatchObject({ MaxAttempts: 8 });
    expect(retrierFor(states.RefundAtProcessor!, 'ProcessorTimeout')).toMatchObject({ MaxAttempts: 8, MaxDelaySeconds: 20 });
  });

  it('an unknown refund outcome or a refused refund posting goes to an operator, never to a release', () => {
    expect(catcherFor(states.RefundAtProcessor!, 'States.ALL')!.Next).toBe('SendToSagaFailures');
    expect(catcherFor(states.PostRefundLedger!, 'States.ALL')!.Next).toBe('SendToSagaFailures');
    expect(states.CompensationFailed).toMatchObject({ Type: 'Fail', Error: 'CompensationFailed' });
  });
});

describe('state machines', () => {
  it('are Standard by default, Express when configured', () => {
    const types = (s: Synthesized) => ofType(s, 'AWS::StepFunctions::StateMachine').map(([, machine]) => machine.Properties.StateMachineType);
    expect(types(standard)).toEqual(['STANDARD', 'STANDARD']);
    expect(types(express)).toEqual(['EXPRESS', 'EXPRESS']);
  });

  it('time out after 15 minutes (Standard: room to hold and settle) or 5 (Express, its maximum)', () => {
    const timeouts = (s: Synthesized) => [s.saga.paymentSaga, s.saga.refundSaga].map((m) => definitionOf(s, m)).map((d: any) => d.TimeoutSeconds);
    expect(timeouts(standard)).toEqual([900, 900]);
    expect(timeouts(express)).toEqual([300, 300]);
  });

  it('log every event without execution data (keeps payment sources out) and are traced', () => {
    for (const s of [standard, express]) {
      for (const [, machine] of ofType(s, 'AWS::StepFunctions::StateMachine')) {
        expect(machine.Properties.LoggingConfiguration).toMatchObject({ Level: 'ALL', IncludeExecutionData: false });
        expect(machine.Properties.TracingConfiguration).toEqual({ Enabled: true });
      }
    }
  });
});

describe('saga-failures queue', () => {
  it('is encrypted (SQS managed), keeps messages 14 days and refuses anything but TLS', () => {
    const queueId = logicalIdOf(standard, standard.saga.sagaFailuresQueue);
    expect(standard.resources[queueId]!.Properties).toMatchObject({ SqsManagedSseEnabled: true, MessageRetentionPeriod: 14 * 24 * 3600 });
    const policies = ofType(standard, 'AWS::SQS::QueuePolicy').filter(([, policy]) => policy.Properties.Queues.some((queue: any) => queue.Ref === queueId));
    expect(policies).toHaveLength(1);
    expect(policies[0]![1].Properties.PolicyDocument.Statement).toContainEqual(
      expect.objectContaining({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
    );
  });
});

describe('least privilege', () => {
  /** The table logical ids a function's role may touch with DynamoDB actions, and whether it may write. */
  function tableAccessOf(s: Synthesized, fn: { role?: { node: { defaultChild?: unknown } } }) {
    const roleId = s.stack.getLogicalId(fn.role!.node.defaultChild as never);
    const statements = ofType(s, 'AWS::IAM::Policy')
      .filter(([, policy]) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
    const access: Record<string, 'read' | 'write'> = {};
    for (const statement of statements) {
      const actions = [statement.Action].flat() as string[];
      if (!actions.some((action) => action.startsWith('dynamodb:'))) continue;
      for (const resource of [statement.Resource].flat()) {
        const table = JSON.stringify(resource).match(/"(Data\w+?Table\w*?)"/)?.[1];
        if (!table) continue;
        const writes = actions.some((action) => /dynamodb:(PutItem|UpdateItem|DeleteItem|BatchWriteItem)/.test(action));
        access[table] = writes || access[table] === 'write' ? 'write' : 'read';
      }
    }
    return access;
  }

  it('each function gets only the table access its task needs', () => {
    const s = standard;
    const payments = logicalIdOf(s, s.data.paymentsTable);
    const processor = logicalIdOf(s, s.data.processorTable);
    const breaker = logicalIdOf(s, s.data.circuitBreakerTable);
    const byName = Object.fromEntries(s.saga.functions.map((fn) => [fn.node.id, tableAccessOf(s, fn)]));
    expect(byName).toEqual({
      AuthorizeFunction: { [payments]: 'read', [processor]: 'write', [breaker]: 'write' },
      CaptureFunction: { [processor]: 'write' },
      PostLedgerFunction: { [payments]: 'write' },
      VoidAuthorizationFunction: { [payments]: 'read', [processor]: 'write' },
      RefundCaptureFunction: { [processor]: 'write' },
      MarkFailedFunction: { [payments]: 'write' },
      RefundAtProcessorFunction: { [payments]: 'read', [processor]: 'write' },
      PostRefundLedgerFunction: { [payments]: 'write' },
      ReleaseRefundFunction: { [payments]: 'write' },
    });
  });

  it('each function is told only the tables it may use', () => {
    for (const fn of standard.saga.functions) {
      const variables = standard.resources[logicalIdOf(standard, fn)]!.Properties.Environment.Variables;
      const access = tableAccessOf(standard, fn);
      expect('PAYMENTS_TABLE_NAME' in variables, fn.node.id).toBe(logicalIdOf(standard, standard.data.paymentsTable) in access);
      expect('PROCESSOR_TABLE_NAME' in variables, fn.node.id).toBe(logicalIdOf(standard, standard.data.processorTable) in access);
    }
  });

  it('Authorize reads the payment with GetItem alone (it writes nothing to the Payments table)', () => {
    const s = standard;
    const payments = logicalIdOf(s, s.data.paymentsTable);
    const authorize = s.saga.functions.find((fn) => fn.node.id === 'AuthorizeFunction')!;
    const roleId = s.stack.getLogicalId(authorize.role!.node.defaultChild as never);
    const actions = ofType(s, 'AWS::IAM::Policy')
      .filter(([, policy]) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
      .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>)
      .filter((statement) => JSON.stringify(statement.Resource).includes(`"${payments}"`))
      .flatMap((statement) => [statement.Action].flat());
    expect(actions).toEqual(['dynamodb:GetItem']);
  });

  it('only Authorize may touch the circuit breaker table, with GetItem and UpdateItem alone, and is told its settings', () => {
    const s = standard;
    const breaker = logicalIdOf(s, s.data.circuitBreakerTable);
    const statements = ofType(s, 'AWS::IAM::Policy')
      .flatMap(([, policy]) => (policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>).map((statement) => ({ roles: policy.Properties.Roles, statement })))
      .filter(({ statement }) => JSON.stringify(statement.Resource).includes(`"${breaker}"`));
    const authorize = s.saga.functions.find((fn) => fn.node.id === 'AuthorizeFunction')!;
    const authorizeRole = s.stack.getLogicalId(authorize.role!.node.defaultChild as never);
    expect(statements).toHaveLength(1);
    expect(statements[0]!.roles).toEqual([{ Ref: authorizeRole }]);
    expect([statements[0]!.statement.Action].flat().sort()).toEqual(['dynamodb:GetItem', 'dynamodb:UpdateItem']);
    expect(s.resources[logicalIdOf(s, authorize)]!.Properties.Environment.Variables).toMatchObject({
      CIRCUIT_BREAKER_TABLE_NAME: { Ref: breaker },
      BREAKER_FAILURE_THRESHOLD: '10',
      BREAKER_WINDOW_SECONDS: '60',
      BREAKER_OPEN_SECONDS: '30',
    });
    expect(s.resources[breaker]!.Properties).toMatchObject({ TimeToLiveSpecification: { AttributeName: 'expiresAt', Enabled: true }, BillingMode: 'PAY_PER_REQUEST' });
  });

  it('the state machines may invoke only their own functions and send only to the saga-failures queue', () => {
    const s = standard;
    const ids = new Set(s.saga.functions.map((fn) => logicalIdOf(s, fn)));
    const queueId = logicalIdOf(s, s.saga.sagaFailuresQueue);
    for (const machine of [s.saga.paymentSaga, s.saga.refundSaga]) {
      const roleId = s.stack.getLogicalId(machine.role.node.defaultChild as never);
      const statements = ofType(s, 'AWS::IAM::Policy')
        .filter(([, policy]) => policy.Properties.Roles.some((role: any) => role.Ref === roleId))
        .flatMap(([, policy]) => policy.Properties.PolicyDocument.Statement as Array<Record<string, any>>);
      for (const statement of statements) {
        const actions = [statement.Action].flat() as string[];
        const text = JSON.stringify(statement.Resource);
        if (actions.includes('lambda:InvokeFunction')) {
          for (const match of text.matchAll(/"(Saga\w+Function\w+)"/g)) expect(ids.has(match[1]!)).toBe(true);
        }
        if (actions.includes('sqs:SendMessage')) expect(text).toContain(queueId);
      }
    }
  });
});
