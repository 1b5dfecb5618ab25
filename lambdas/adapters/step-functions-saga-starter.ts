import { DescribeExecutionCommand, StartExecutionCommand, type ExecutionStatus } from '@aws-sdk/client-sfn';
import { setting } from '#commons/environment';
import { sfn } from '#commons/sfn';
import type { SagaKind, SagaStart } from '#domain/saga-starts';
import type { SagaStarter, StartedSaga } from '#ports/saga-starter';

/** Allowance for the clocks of Lambda and Step Functions when telling a new execution from an earlier one. */
const CLOCK_TOLERANCE_MS = 2_000;

/** The sagas on Step Functions, one state machine per saga kind. */
export class StepFunctionsSagaStarter implements SagaStarter {
  constructor(private readonly stateMachineArns: Record<SagaKind, string>) {}

  /**
   * Starts the saga under its deterministic execution name. For a Standard state machine the name is
   * unique for 90 days: a second start answers ExecutionAlreadyExists (or, while it runs with the same
   * input, the first execution), so the saga runs once however often the event is delivered.
   */
  async start(start: SagaStart): Promise<StartedSaga> {
    const stateMachineArn = this.stateMachineArns[start.saga];
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

  async status(executionArn: string): Promise<ExecutionStatus | undefined> {
    const { status } = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    return status;
  }
}

/** arn:aws:states:<region>:<account>:stateMachine:<name> -> arn:aws:states:<region>:<account>:execution:<name>:<executionName> */
export function executionArnFor(stateMachineArn: string, executionName: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionName}`;
}

/** The payment and refund state machines the function's settings name. */
export const sagaStarterFromSettings = () => new StepFunctionsSagaStarter({ payment: setting('paymentSagaArn'), refund: setting('refundSagaArn') });
