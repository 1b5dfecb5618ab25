/**
 * GetExecutionHistory and DescribeStateMachine for the local Step Functions API: the executions'
 * recorded events (executions.ts) shaped like AWS's history events, so that a reader written for AWS
 * (e.g. a console drawing the path an execution took) reads the local one unchanged.
 *
 * Mapping: StateEntered/StateExited → `<Type>StateEntered` / `<Type>StateExited` with
 * `stateEnteredEventDetails` / `stateExitedEventDetails` (name); a Task's StateFailed → `TaskFailed`
 * (`taskFailedEventDetails`: error, cause), once per failed attempt as AWS records it; the execution's
 * end → ExecutionSucceeded / ExecutionFailed / ExecutionAborted / ExecutionTimedOut. StateRetried and
 * StateCaught have no AWS event (AWS shows a retry as the next attempt's events) and are left out.
 * Inputs and outputs are not included.
 */
import type { ExecutionEvent, ExecutionRecord } from './executions.ts';
import type { LocalStateMachine } from './machines.ts';

export interface HistoryEvent {
  timestamp: number;
  type: string;
  id: number;
  previousEventId: number;
  [details: string]: unknown;
}

const epochSeconds = (milliseconds: number) => milliseconds / 1000;

function stateTypes(definition: unknown): Map<string, string> {
  const types = new Map<string, string>();
  const visit = (states: Record<string, { Type?: string; Branches?: Array<{ States: Record<string, never> }>; Iterator?: { States: Record<string, never> }; ItemProcessor?: { States: Record<string, never> } }> | undefined) => {
    for (const [name, state] of Object.entries(states ?? {})) {
      if (state.Type) types.set(name, state.Type);
      for (const branch of state.Branches ?? []) visit(branch.States);
      visit(state.Iterator?.States);
      visit(state.ItemProcessor?.States);
    }
  };
  visit((definition as { States?: Record<string, never> }).States);
  return types;
}

function historyEntry(event: ExecutionEvent, types: Map<string, string>): Omit<HistoryEvent, 'id' | 'previousEventId'> | undefined {
  const timestamp = epochSeconds(event.timestamp);
  const type = event.stateName ? (types.get(event.stateName) ?? 'Task') : undefined;
  switch (event.type) {
    case 'ExecutionStarted':
      return { timestamp, type: 'ExecutionStarted', executionStartedEventDetails: { inputDetails: { truncated: false } } };
    case 'StateEntered':
      return { timestamp, type: `${type}StateEntered`, stateEnteredEventDetails: { name: event.stateName } };
    case 'StateExited':
      return { timestamp, type: `${type}StateExited`, stateExitedEventDetails: { name: event.stateName } };
    case 'StateFailed':
      return type === 'Task' ? { timestamp, type: 'TaskFailed', taskFailedEventDetails: { error: event.error, cause: event.cause } } : undefined;
    case 'ExecutionSucceeded':
      return { timestamp, type: 'ExecutionSucceeded', executionSucceededEventDetails: {} };
    case 'ExecutionFailed':
      return { timestamp, type: 'ExecutionFailed', executionFailedEventDetails: { error: event.error, cause: event.cause } };
    case 'ExecutionAborted':
      return { timestamp, type: 'ExecutionAborted', executionAbortedEventDetails: {} };
    case 'ExecutionTimeout':
      return { timestamp, type: 'ExecutionTimedOut', executionTimedOutEventDetails: {} };
    default:
      return undefined;
  }
}

/** The execution's history as GetExecutionHistory returns it (oldest first; `reverseOrder` for newest first). */
export function executionHistory(record: ExecutionRecord, machine: LocalStateMachine | undefined, reverseOrder = false): HistoryEvent[] {
  const types = stateTypes(machine?.definition ?? {});
  const events: HistoryEvent[] = [];
  for (const event of record.events) {
    const entry = historyEntry(event, types);
    if (entry) events.push({ ...entry, id: events.length + 1, previousEventId: events.length } as HistoryEvent);
  }
  // The runner records the end of an execution on its record; the event log may not have it yet.
  const last = events.at(-1)?.type ?? '';
  if (record.status !== 'RUNNING' && !last.startsWith('Execution') && record.stopDate) {
    const end = {
      SUCCEEDED: { type: 'ExecutionSucceeded', executionSucceededEventDetails: {} },
      FAILED: { type: 'ExecutionFailed', executionFailedEventDetails: { error: record.error, cause: record.cause } },
      ABORTED: { type: 'ExecutionAborted', executionAbortedEventDetails: {} },
      TIMED_OUT: { type: 'ExecutionTimedOut', executionTimedOutEventDetails: {} },
    }[record.status];
    events.push({ timestamp: epochSeconds(record.stopDate.getTime()), ...end, id: events.length + 1, previousEventId: events.length });
  }
  return reverseOrder ? events.reverse() : events;
}

/** DescribeStateMachine's answer for a local state machine (the definition that runs, intrinsics resolved). */
export function describeStateMachineBody(machine: LocalStateMachine) {
  return {
    stateMachineArn: machine.arn,
    name: machine.name,
    status: 'ACTIVE',
    type: machine.type,
    definition: JSON.stringify(machine.definition),
    roleArn: `arn:aws:iam::${machine.arn.split(':')[4] ?? '000000000000'}:role/${machine.name}-local`,
    creationDate: 0,
  };
}
