/**
 * The executions of the local state machines, as the Step Functions API sees them: started by name with
 * StartExecution's semantics, described, listed, stopped, each with its history.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionError } from 'aws-local-stepfunctions';
import { assertExecutionInputWithinLimit } from '../limits/step-functions.ts';
import { executionArn as localExecutionArn } from './arns.ts';
import type { LocalStateMachine, RawExecutionEvent } from './machines.ts';

/** A step of an execution's history: which state was entered, exited, failed, retried or caught. */
export interface ExecutionEvent {
  readonly type: string;
  readonly timestamp: number;
  readonly stateName?: string;
  readonly error?: string;
  readonly cause?: string;
  readonly retryAttempt?: number;
}

function toExecutionEvent(event: RawExecutionEvent): ExecutionEvent {
  return {
    type: event.type,
    timestamp: event.timestamp,
    ...(event.state ? { stateName: event.state.name } : {}),
    ...(event.Error !== undefined ? { error: event.Error } : {}),
    ...(event.Cause !== undefined ? { cause: event.Cause instanceof Error ? event.Cause.message : String(event.Cause) } : {}),
    ...(event.retry ? { retryAttempt: event.retry.attempt } : {}),
  };
}

export type ExecutionStatus = 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';

export interface ExecutionRecord {
  readonly executionArn: string;
  readonly stateMachineArn: string;
  readonly name: string;
  /** The input as given (a JSON string). */
  readonly input: string;
  readonly startDate: Date;
  status: ExecutionStatus;
  stopDate?: Date;
  /** JSON string, when SUCCEEDED. */
  output?: string;
  error?: string;
  cause?: string;
  /** The execution's history so far (states entered, exited, failed, retried, caught). */
  readonly events: ExecutionEvent[];
  /** Settles when the execution stops (never rejects). */
  readonly done: Promise<ExecutionRecord>;
}

/** A Step Functions service error, shaped for the AWS JSON protocol (`__type`, HTTP 400). */
export class StepFunctionsApiError extends Error {
  constructor(
    readonly type: string,
    message: string,
  ) {
    super(message);
    this.name = type;
  }
}

const EXECUTION_NAME = /^[A-Za-z0-9_.\-]{1,80}$/;

/**
 * The executions of some local state machines, with Step Functions' StartExecution semantics:
 * names are unique per Standard state machine; the same name and the same input while it runs
 * returns the running execution; any other reuse of a name is ExecutionAlreadyExists. Express state
 * machines do not deduplicate names (as in AWS). Executions run in the background.
 */
export class LocalStepFunctions {
  private readonly machines = new Map<string, LocalStateMachine>();
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly aborts = new Map<string, () => void>();
  private readonly aborted = new Set<string>();

  constructor(machines: Iterable<LocalStateMachine>) {
    for (const machine of machines) this.machines.set(machine.arn, machine);
  }

  stateMachines(): LocalStateMachine[] {
    return [...this.machines.values()];
  }

  stateMachineByLogicalId(logicalId: string): LocalStateMachine {
    const machine = this.stateMachines().find((candidate) => candidate.logicalId === logicalId);
    if (!machine) throw new Error(`No local state machine ${logicalId}`);
    return machine;
  }

  startExecution(request: { stateMachineArn: string; name?: string; input?: string }): { executionArn: string; startDate: Date } {
    assertExecutionInputWithinLimit(request.input);
    const machine = this.machines.get(request.stateMachineArn);
    if (!machine) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${request.stateMachineArn}'`);
    const name = request.name ?? randomUUID();
    if (!EXECUTION_NAME.test(name)) throw new StepFunctionsApiError('InvalidName', `Invalid Name: '${name}'`);
    const input = request.input ?? '{}';
    let parsedInput: unknown;
    try {
      parsedInput = JSON.parse(input);
    } catch {
      throw new StepFunctionsApiError('InvalidExecutionInput', 'Invalid State Machine Execution Input: not JSON');
    }
    const executionArn = localExecutionArn(machine.arn, machine.type, name);
    const existing = this.executions.get(executionArn);
    if (existing) {
      if (existing.status === 'RUNNING' && existing.input === input) return { executionArn, startDate: existing.startDate };
      throw new StepFunctionsApiError('ExecutionAlreadyExists', `Execution Already Exists: '${executionArn}'`);
    }

    const { result, abort, events } = machine.run(parsedInput, { executionArn, name });
    const record = { executionArn, stateMachineArn: machine.arn, name, input, startDate: new Date(), status: 'RUNNING', events: [] as ExecutionEvent[] } as ExecutionRecord;
    const historyRecorded = (async () => {
      for await (const event of events) record.events.push(toExecutionEvent(event));
    })();
    const finish = (status: ExecutionStatus, fields: Partial<ExecutionRecord> = {}): ExecutionRecord => {
      Object.assign(record, { status, stopDate: new Date(), ...fields });
      this.aborts.delete(executionArn);
      return record;
    };
    const settled = result.then(
      (output) => (this.aborted.has(executionArn) ? finish('ABORTED') : finish('SUCCEEDED', { output: JSON.stringify(output) })),
      (error: unknown) => {
        const cause = error instanceof ExecutionError && error.cause instanceof Error ? error.cause : error;
        if (cause instanceof Error && cause.name === 'ExecutionTimeoutError') return finish('TIMED_OUT', { error: 'States.Timeout', cause: cause.message });
        if (cause instanceof Error) return finish('FAILED', { error: cause.name, cause: cause.message });
        return finish('FAILED', { error: 'States.Runtime', cause: String(cause) });
      },
    );
    const done = Promise.all([settled, historyRecorded.catch(() => undefined)]).then(() => record);
    Object.assign(record, { done });
    this.executions.set(executionArn, record);
    this.aborts.set(executionArn, abort);
    return { executionArn, startDate: record.startDate };
  }

  describeExecution(executionArn: string): ExecutionRecord {
    const record = this.executions.get(executionArn);
    if (!record) throw new StepFunctionsApiError('ExecutionDoesNotExist', `Execution Does Not Exist: '${executionArn}'`);
    return record;
  }

  listExecutions(request: { stateMachineArn?: string; statusFilter?: ExecutionStatus } = {}): ExecutionRecord[] {
    if (request.stateMachineArn && !this.machines.has(request.stateMachineArn)) {
      throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${request.stateMachineArn}'`);
    }
    return [...this.executions.values()]
      .filter((record) => !request.stateMachineArn || record.stateMachineArn === request.stateMachineArn)
      .filter((record) => !request.statusFilter || record.status === request.statusFilter)
      .sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
  }

  stopExecution(executionArn: string, details: { error?: string; cause?: string } = {}): { stopDate: Date } {
    const record = this.describeExecution(executionArn);
    const abort = this.aborts.get(executionArn);
    if (record.status === 'RUNNING' && abort) {
      this.aborted.add(executionArn);
      Object.assign(record, { error: details.error, cause: details.cause });
      abort();
    }
    return { stopDate: record.stopDate ?? new Date() };
  }

  /** Resolves with the execution once it has stopped; rejects after `timeoutMs`. */
  async waitForExecution(executionArn: string, timeoutMs = 60_000): Promise<ExecutionRecord> {
    const record = this.describeExecution(executionArn);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Execution ${executionArn} still ${record.status} after ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      return await Promise.race([record.done, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Resolves when no execution is running (including ones started while waiting). */
  async idle(): Promise<void> {
    for (;;) {
      const running = [...this.executions.values()].filter((record) => record.status === 'RUNNING');
      if (running.length === 0) return;
      await Promise.all(running.map((record) => record.done));
    }
  }

  /** Aborts every running execution (shutdown). */
  abortAll(): void {
    for (const record of this.executions.values()) if (record.status === 'RUNNING') this.stopExecution(record.executionArn);
  }
}
