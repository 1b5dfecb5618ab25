import { DescribeExecutionCommand, StartExecutionCommand, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { requiredEnv } from '#commons/env';
import { sfn } from '#commons/sfn';
import type { SagaKind, SagaStart } from '#domain/saga-starts';

const stateMachineArns: Record<SagaKind, string> = {
  payment: requiredEnv('PAYMENT_SAGA_ARN'),
  refund: requiredEnv('REFUND_SAGA_ARN'),
};

/** Allowance for the clocks of Lambda and Step Functions when telling a new execution from an earlier one. */
const CLOCK_TOLERANCE_MS = 2_000;

export interface StartedSaga {
  executionArn: string;
  /** True when an execution with this name already existed (ExecutionAlreadyExists, or the running one returned). */
  alreadyExisted: boolean;
}

/**
 * Starts the saga under its deterministic execution name. For a Standard state machine the name is
 * unique for 90 days: a second start answers ExecutionAlreadyExists (or, while it runs with the same
 * input, the first execution), so the saga runs once however often the event is delivered.
 */
export async function startSaga(start: SagaStart): Promise<StartedSaga> {
  const stateMachineArn = stateMachineArns[start.saga];
  const requestedAt = Date.now();
  try {
    const { executionArn, startDate } = await sfn.send(
      new StartExecutionCommand({ stateMachineArn, name: start.name, input: JSON.stringify(start.input) }),
    );
    // A running execution with this name and input answers with itself, and its own start date.
    const alreadyExisted = startDate !== undefined && startDate.getTime() < requestedAt - CLOCK_TOLERANCE_MS;
    return { executionArn: executionArn ?? executionArnFor(stateMachineArn, start.name), alreadyExisted };
  } catch (error) {
    if (error instanceof Error && error.name === 'ExecutionAlreadyExists') {
      return { executionArn: executionArnFor(stateMachineArn, start.name), alreadyExisted: true };
    }
    throw error;
  }
}

export async function executionStatus(executionArn: string): Promise<ExecutionStatus | undefined> {
  const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
  return status;
}

/** arn:aws:states:<region>:<account>:stateMachine:<name> -> arn:aws:states:<region>:<account>:execution:<name>:<executionName> */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}
