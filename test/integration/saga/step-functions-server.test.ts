import { DescribeExecutionCommand, ListExecutionsCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStepFunctionsServer, type StepFunctionsServer } from '../../../tools/local-runner/step-functions/server.ts';
import { createSagaHarness, type SagaHarness } from './saga-harness.ts';

// The local Step Functions API (AWS JSON 1.0) in front of the synthesized sagas, driven by the same
// @aws-sdk/client-sfn the saga starter uses. Retries pause 150 ms here so that a tok_flaky execution
// (4 retries) is still running while the test starts it again.
let saga: SagaHarness;
let server: StepFunctionsServer;
let sfn: SFNClient;
beforeAll(async () => {
  saga = await createSagaHarness({ retryIntervalMs: 150 });
  server = await startStepFunctionsServer(saga.stepFunctions);
  sfn = new SFNClient({ endpoint: server.endpoint });
});
afterAll(async () => {
  sfn.destroy();
  await server.close();
});

const start = (paymentId: string, name = `payment-${paymentId}`, input: object = { paymentId }) =>
  sfn.send(new StartExecutionCommand({ stateMachineArn: saga.paymentSaga.arn, name, input: JSON.stringify(input) }));

async function describeWhenDone(executionArn: string) {
  await saga.stepFunctions.waitForExecution(executionArn, 20_000);
  return sfn.send(new DescribeExecutionCommand({ executionArn }));
}

describe('StartExecution (Standard)', () => {
  it('same name and same input while running returns the running execution; other input is ExecutionAlreadyExists', async () => {
    const payment = await saga.seedPayment({ source: 'tok_flaky' });
    const first = await start(payment.id);
    const again = await start(payment.id);
    expect(again.executionArn).toBe(first.executionArn);
    expect(again.startDate).toEqual(first.startDate);
    await expect(start(payment.id, `payment-${payment.id}`, { paymentId: payment.id, extra: 1 })).rejects.toMatchObject({ name: 'ExecutionAlreadyExists' });

    const described = await describeWhenDone(first.executionArn!);
    expect(described).toMatchObject({ status: 'SUCCEEDED', name: `payment-${payment.id}`, stateMachineArn: saga.paymentSaga.arn, input: JSON.stringify({ paymentId: payment.id }) });
    expect(JSON.parse(described.output!)).toMatchObject({ paymentId: payment.id, status: 'succeeded' });
    expect(described.stopDate!.getTime()).toBeGreaterThanOrEqual(described.startDate!.getTime());
    await saga.assertInvariants(payment.id);
  });

  it('a name already used by a finished execution is ExecutionAlreadyExists, and nothing runs again', async () => {
    const payment = await saga.seedPayment({ source: 'tok_success' });
    const { executionArn } = await start(payment.id);
    await describeWhenDone(executionArn!);
    await expect(start(payment.id)).rejects.toMatchObject({ name: 'ExecutionAlreadyExists', $metadata: { httpStatusCode: 400 } });
    expect(saga.stepFunctions.listExecutions({ stateMachineArn: saga.paymentSaga.arn }).filter((e) => e.name === `payment-${payment.id}`)).toHaveLength(1);
  });

  it('an unknown state machine is StateMachineDoesNotExist; input that is not JSON is InvalidExecutionInput', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: `${saga.paymentSaga.arn}Nope`, input: '{}' }))).rejects.toMatchObject({ name: 'StateMachineDoesNotExist' });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: saga.paymentSaga.arn, input: '{not json' }))).rejects.toMatchObject({ name: 'InvalidExecutionInput' });
  });
});

describe('DescribeExecution', () => {
  it('reports a failed execution with its error and cause', async () => {
    const restore = await saga.injectFault('VoidAuthorization', { PROCESSOR_TABLE_NAME: 'missing-processor-table' });
    try {
      const payment = await saga.seedPayment({ source: 'tok_capture_fail' });
      const { executionArn } = await start(payment.id);
      expect(await describeWhenDone(executionArn!)).toMatchObject({ status: 'FAILED', error: 'CompensationFailed', cause: expect.stringContaining('saga-failures') });
      expect(await saga.drainSagaFailures()).toHaveLength(1);
    } finally {
      restore();
    }
  });

  it('an unknown execution is ExecutionDoesNotExist', async () => {
    await expect(sfn.send(new DescribeExecutionCommand({ executionArn: `${saga.paymentSaga.arn.replace(':stateMachine:', ':execution:')}:nope` }))).rejects.toMatchObject({
      name: 'ExecutionDoesNotExist',
    });
  });
});

describe('ListExecutions and StopExecution', () => {
  it('lists the executions of a state machine, newest first, filtered by status; a stopped one is ABORTED', async () => {
    const payment = await saga.seedPayment({ source: 'tok_flaky' });
    const { executionArn } = await start(payment.id);
    const running = await sfn.send(new ListExecutionsCommand({ stateMachineArn: saga.paymentSaga.arn, statusFilter: 'RUNNING' }));
    expect(running.executions?.map((execution) => execution.executionArn)).toContain(executionArn);

    await sfn.send(new StopExecutionCommand({ executionArn }));
    expect(await describeWhenDone(executionArn!)).toMatchObject({ status: 'ABORTED' });
    const aborted = await sfn.send(new ListExecutionsCommand({ stateMachineArn: saga.paymentSaga.arn, statusFilter: 'ABORTED' }));
    expect(aborted.executions?.map((execution) => execution.executionArn)).toEqual([executionArn]);
    const all = await sfn.send(new ListExecutionsCommand({ stateMachineArn: saga.paymentSaga.arn }));
    const dates = all.executions!.map((execution) => execution.startDate!.getTime());
    expect(dates).toEqual([...dates].sort((a, b) => b - a));
  });
});
