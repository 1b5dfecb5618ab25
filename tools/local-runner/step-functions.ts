/**
 * Runs the state machines of a synthesized template with aws-local-stepfunctions 3.0.0, and serves
 * them behind a tiny Step Functions API (AWS JSON 1.0: StartExecution, DescribeExecution,
 * ListExecutions, StopExecution) so that Lambda code using @aws-sdk/client-sfn with
 * AWS_ENDPOINT_URL_SFN works locally.
 *
 * Task states are overridden by state name:
 * - `arn:aws:states:::lambda:invoke` calls the caller's `invokeLambda(functionLogicalId, payload)` and
 *   returns the Invoke response shape `{StatusCode: 200, ExecutedVersion, Payload}`, so the definition's
 *   own `$.Payload` selectors work. A thrown error keeps its `name` (what Retry/Catch match) and, as
 *   in AWS, its Cause becomes the JSON string `{"errorType","errorMessage","trace"}`.
 * - `arn:aws:states:::sqs:sendMessage` sends the message with a real SQS client (fauxqs locally).
 * Any other Task resource is refused when the machine is loaded, so nothing runs half-emulated.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import { ExecutionError, StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { createIntrinsicResolver, LOCAL_ACCOUNT_ID, LOCAL_REGION, type TemplateValue } from './intrinsics.ts';
import type { CfnTemplate } from './template.ts';

export type { CfnResource, CfnTemplate } from './template.ts';

// ---------------------------------------------------------------------------------------------
// Template and ARNs

export interface LocalIdentity {
  readonly region: string;
  readonly accountId: string;
}

const DEFAULT_IDENTITY: LocalIdentity = { region: LOCAL_REGION, accountId: LOCAL_ACCOUNT_ID };

/** Local name of a state machine: its StateMachineName property when it is a plain string, else its logical id. */
export function localStateMachineName(template: CfnTemplate, logicalId: string): string {
  const name = template.Resources[logicalId]?.Properties?.StateMachineName;
  return typeof name === 'string' ? name : logicalId;
}

/** The ARN a state machine gets locally (also what `Ref` of it must resolve to, e.g. in PAYMENT_SAGA_ARN). */
export function localStateMachineArn(template: CfnTemplate, logicalId: string, identity: LocalIdentity = DEFAULT_IDENTITY): string {
  return `arn:aws:states:${identity.region}:${identity.accountId}:stateMachine:${localStateMachineName(template, logicalId)}`;
}

/** The ARN a Lambda function gets locally by default: its logical id is the function name. */
export function localFunctionArn(logicalId: string, identity: LocalIdentity = DEFAULT_IDENTITY): string {
  return `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${logicalId}`;
}

export function stateMachineLogicalIds(template: CfnTemplate): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId]) => logicalId);
}

// ---------------------------------------------------------------------------------------------
// Loading one state machine

export interface StateMachineEnvironment {
  readonly template: CfnTemplate;
  /**
   * Runs a Lambda function of the template in-process and returns what its handler returned.
   * Throw the handler's own error (its `name` is what Retry/Catch match).
   */
  invokeLambda(functionLogicalId: string, payload: unknown): Promise<unknown>;
  /** SQS client for `sqs:sendMessage` tasks (give it the local endpoint). */
  readonly sqsClient?: SQSClient;
  /** Queue logical id -> the URL CreateQueue returned locally; used for `Ref` of an AWS::SQS::Queue. */
  readonly queueUrls?: Record<string, string>;
  /**
   * Extra resolution of `Ref` / `Fn::GetAtt`, tried first; return `undefined` to fall back to the
   * defaults (Lambda: logical id as name, local ARN; state machine: local ARN; queue: `queueUrls`,
   * local ARN, queue name; table: logical id as name, local ARN).
   */
  readonly ref?: (logicalId: string) => TemplateValue | undefined;
  readonly getAtt?: (logicalId: string, attribute: string) => TemplateValue | undefined;
  readonly identity?: LocalIdentity;
  /**
   * Pause before a Retry, in ms, instead of the definition's IntervalSeconds/BackoffRate/jitter:
   * one number for every state, or per state name. Leave unset to wait as the definition says.
   */
  readonly retryIntervalOverrides?: number | Record<string, number | number[]>;
}

export interface LocalStateMachine {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  readonly type: 'STANDARD' | 'EXPRESS';
  /** The resolved ASL definition that runs. */
  readonly definition: StateMachineDefinition;
  /** Starts one execution; `$$` holds Execution.Id/Name and StateMachine.Id/Name. */
  run(input: unknown, execution: { executionArn: string; name: string }): { result: Promise<unknown>; abort(): void; events: AsyncIterable<RawExecutionEvent> };
}

/** An event of aws-local-stepfunctions' execution log (its type is not exported). */
interface RawExecutionEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string };
  retry?: { attempt: number };
  Error?: string;
  Cause?: unknown;
}

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

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const SQS_SEND_MESSAGE = 'arn:aws:states:::sqs:sendMessage';

interface AslState {
  Type: string;
  Resource?: string;
  Retry?: unknown[];
  States?: Record<string, AslState>;
  Branches?: Array<{ States: Record<string, AslState> }>;
  Iterator?: { States: Record<string, AslState> };
  ItemProcessor?: { States: Record<string, AslState> };
}

function* allStates(states: Record<string, AslState>): Generator<[string, AslState]> {
  for (const [name, state] of Object.entries(states)) {
    yield [name, state];
    for (const branch of state.Branches ?? []) yield* allStates(branch.States);
    if (state.Iterator) yield* allStates(state.Iterator.States);
    if (state.ItemProcessor) yield* allStates(state.ItemProcessor.States);
  }
}

/** The error a Task raises when its Lambda handler threw: name kept, Cause shaped like AWS's. */
export class LambdaFunctionError extends Error {
  constructor(errorType: string, errorMessage: string, trace: string[]) {
    super(JSON.stringify({ errorType, errorMessage, trace }));
    this.name = errorType;
  }
}

function toLambdaFunctionError(error: unknown): LambdaFunctionError {
  if (error instanceof Error) {
    return new LambdaFunctionError(error.name || 'Error', error.message, (error.stack ?? '').split('\n').slice(1).map((line) => line.trim()));
  }
  return new LambdaFunctionError('Error', String(error), []);
}

/** Loads the state machine `logicalId` of the template, with its Task states wired to local handlers. */
export function loadStateMachine(logicalId: string, environment: StateMachineEnvironment): LocalStateMachine {
  const { template } = environment;
  const identity = environment.identity ?? DEFAULT_IDENTITY;
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine of the template`);

  const functionIdsByArn = new Map<string, string>();
  const typeOf = (id: string) => template.Resources[id]?.Type;

  const ref = (id: string): TemplateValue => {
    const custom = environment.ref?.(id);
    if (custom !== undefined) return custom;
    switch (typeOf(id)) {
      case 'AWS::Lambda::Function':
      case 'AWS::DynamoDB::Table':
        return id;
      case 'AWS::StepFunctions::StateMachine':
        return localStateMachineArn(template, id, identity);
      case 'AWS::SQS::Queue': {
        const url = environment.queueUrls?.[id];
        if (!url) throw new Error(`No local queue URL given for ${id} (StateMachineEnvironment.queueUrls)`);
        return url;
      }
      default:
        throw new Error(`Cannot resolve Ref ${id} (${typeOf(id) ?? 'not in the template'}) locally`);
    }
  };

  const getAtt = (id: string, attribute: string): TemplateValue => {
    const custom = environment.getAtt?.(id, attribute);
    const value = custom !== undefined ? custom : defaultGetAtt(id, attribute);
    if (typeOf(id) === 'AWS::Lambda::Function' && attribute === 'Arn' && typeof value === 'string') functionIdsByArn.set(value, id);
    return value;
  };

  const defaultGetAtt = (id: string, attribute: string): TemplateValue => {
    const arnPrefix = (service: string) => `arn:aws:${service}:${identity.region}:${identity.accountId}`;
    switch (`${typeOf(id)}.${attribute}`) {
      case 'AWS::Lambda::Function.Arn':
        return localFunctionArn(id, identity);
      case 'AWS::SQS::Queue.Arn':
        return `${arnPrefix('sqs')}:${id}`;
      case 'AWS::SQS::Queue.QueueName':
        return id;
      case 'AWS::SQS::Queue.QueueUrl':
        return ref(id);
      case 'AWS::DynamoDB::Table.Arn':
        return `${arnPrefix('dynamodb')}:table/${String(ref(id))}`;
      case 'AWS::StepFunctions::StateMachine.Arn':
        return localStateMachineArn(template, id, identity);
      case 'AWS::StepFunctions::StateMachine.Name':
        return localStateMachineName(template, id);
      default:
        throw new Error(`Cannot resolve Fn::GetAtt ${id}.${attribute} locally`);
    }
  };

  const resolve = createIntrinsicResolver({
    ref,
    getAtt,
    mappings: template.Mappings as Record<string, Record<string, Record<string, TemplateValue>>> | undefined,
    pseudoParameters: { 'AWS::Region': identity.region, 'AWS::AccountId': identity.accountId },
  });
  const properties = resource.Properties ?? {};
  const definitionSource = properties.DefinitionString ?? (properties.Definition !== undefined ? JSON.stringify(properties.Definition) : undefined);
  if (definitionSource === undefined) throw new Error(`${logicalId} has neither DefinitionString nor Definition`);
  const definitionText = resolve(definitionSource);
  if (typeof definitionText !== 'string') throw new Error(`${logicalId}: DefinitionString did not resolve to a string`);
  const definition = JSON.parse(definitionText) as StateMachineDefinition;

  const taskHandlers: Record<string, (input: unknown) => Promise<unknown>> = {};
  const retryOverrides: Record<string, number | number[]> = {};
  for (const [stateName, state] of allStates(definition.States as unknown as Record<string, AslState>)) {
    if (state.Retry && environment.retryIntervalOverrides !== undefined) {
      const override = typeof environment.retryIntervalOverrides === 'number' ? environment.retryIntervalOverrides : environment.retryIntervalOverrides[stateName];
      if (override !== undefined) retryOverrides[stateName] = override;
    }
    if (state.Type !== 'Task') continue;
    const resourceArn = state.Resource ?? '';
    if (resourceArn === LAMBDA_INVOKE) {
      taskHandlers[stateName] = async (input) => {
        const { FunctionName, Payload } = input as { FunctionName: string; Payload?: unknown };
        const functionId = functionIdsByArn.get(FunctionName) ?? functionIdsByArn.get(FunctionName.replace(/:[^:]+$/, '')) ?? FunctionName.split(':')[6];
        if (!functionId) throw new Error(`${stateName}: cannot tell which function ${FunctionName} is`);
        let result: unknown;
        try {
          result = await environment.invokeLambda(functionId, Payload ?? null);
        } catch (error) {
          throw toLambdaFunctionError(error);
        }
        // What the Invoke API returns: the payload is the handler's JSON result (null for undefined).
        return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result === undefined ? null : JSON.parse(JSON.stringify(result)) };
      };
    } else if (resourceArn === SQS_SEND_MESSAGE) {
      taskHandlers[stateName] = async (input) => {
        const client = environment.sqsClient;
        if (!client) throw new Error(`${stateName}: no sqsClient given for sqs:sendMessage`);
        const parameters = { ...(input as Record<string, unknown>) };
        const body = parameters.MessageBody;
        const command = { ...parameters, MessageBody: typeof body === 'string' ? body : JSON.stringify(body) } as SendMessageCommandInput;
        const response = await client.send(new SendMessageCommand(command));
        return {
          MessageId: response.MessageId ?? null,
          MD5OfMessageBody: response.MD5OfMessageBody ?? null,
          ...(response.SequenceNumber ? { SequenceNumber: response.SequenceNumber } : {}),
        };
      };
    } else {
      throw new Error(`${logicalId}.${stateName}: Task resource ${resourceArn} is not emulated locally`);
    }
  }

  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const name = localStateMachineName(template, logicalId);
  const arn = localStateMachineArn(template, logicalId, identity);
  const type = properties.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
  return {
    logicalId,
    name,
    arn,
    type,
    definition,
    run(input, execution) {
      const running = machine.run(input as never, {
        overrides: { taskResourceLocalHandlers: taskHandlers as never, retryIntervalOverrides: retryOverrides },
        noThrowOnAbort: true,
        context: {
          Execution: { Id: execution.executionArn, Name: execution.name, RoleArn: `arn:aws:iam::${identity.accountId}:role/local` },
          StateMachine: { Id: arn, Name: name },
        },
      });
      return { result: running.result, abort: running.abort, events: running.eventLogs as AsyncIterable<RawExecutionEvent> };
    },
  };
}

/** Loads every state machine of the template. */
export function loadStateMachines(environment: StateMachineEnvironment): LocalStateMachine[] {
  return stateMachineLogicalIds(environment.template).map((logicalId) => loadStateMachine(logicalId, environment));
}

// ---------------------------------------------------------------------------------------------
// Executions (what the API serves)

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
    const executionArn =
      machine.type === 'STANDARD'
        ? machine.arn.replace(':stateMachine:', ':execution:') + `:${name}`
        : machine.arn.replace(':stateMachine:', ':express:') + `:${name}:${randomUUID()}`;
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

// ---------------------------------------------------------------------------------------------
// The HTTP API (AWS JSON 1.0, X-Amz-Target: AWSStepFunctions.<Operation>)

export interface StepFunctionsServer {
  /** Base URL for AWS_ENDPOINT_URL_SFN / `new SFNClient({endpoint})`. */
  readonly endpoint: string;
  readonly stepFunctions: LocalStepFunctions;
  /** Stops listening and aborts running executions. */
  close(): Promise<void>;
}

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

/** The fields ListExecutions gives per execution; DescribeExecution starts with the same. */
function executionSummary(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    stopDate: epochSeconds(record.stopDate),
  };
}

function describeBody(record: ExecutionRecord) {
  return {
    ...executionSummary(record),
    input: record.input,
    inputDetails: { included: true },
    output: record.output,
    ...(record.output !== undefined ? { outputDetails: { included: true } } : {}),
    error: record.error,
    cause: record.cause,
  };
}

type Operation = (stepFunctions: LocalStepFunctions, request: Record<string, unknown>) => unknown;

const OPERATIONS: Record<string, Operation> = {
  StartExecution: (sfn, request) => {
    const { executionArn, startDate } = sfn.startExecution({
      stateMachineArn: String(request.stateMachineArn ?? ''),
      name: request.name === undefined ? undefined : String(request.name),
      input: request.input === undefined ? undefined : String(request.input),
    });
    return { executionArn, startDate: epochSeconds(startDate) };
  },
  DescribeExecution: (sfn, request) => describeBody(sfn.describeExecution(String(request.executionArn ?? ''))),
  ListExecutions: (sfn, request) => {
    const all = sfn.listExecutions({
      stateMachineArn: request.stateMachineArn === undefined ? undefined : String(request.stateMachineArn),
      statusFilter: request.statusFilter as ExecutionStatus | undefined,
    });
    const offset = request.nextToken ? Number(request.nextToken) : 0;
    const limit = typeof request.maxResults === 'number' && request.maxResults > 0 ? request.maxResults : 100;
    const page = all.slice(offset, offset + limit);
    return {
      executions: page.map(executionSummary),
      ...(offset + limit < all.length ? { nextToken: String(offset + limit) } : {}),
    };
  },
  StopExecution: (sfn, request) => {
    const { stopDate } = sfn.stopExecution(String(request.executionArn ?? ''), {
      error: request.error === undefined ? undefined : String(request.error),
      cause: request.cause === undefined ? undefined : String(request.cause),
    });
    return { stopDate: epochSeconds(stopDate) };
  },
};

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...extraHeaders,
  });
  response.end(text);
}

/**
 * Serves `stepFunctions` over HTTP on 127.0.0.1 (port 0 = a free port). Point clients at
 * `endpoint` (AWS_ENDPOINT_URL_SFN). Credentials and signatures are not checked.
 */
export async function startStepFunctionsServer(stepFunctions: LocalStepFunctions, options: { port?: number; host?: string } = {}): Promise<StepFunctionsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = OPERATIONS[target.replace(/^AWSStepFunctions\./, '')];
        if (request.method !== 'POST' || !operation) {
          throw new StepFunctionsApiError('UnknownOperationException', `Operation ${target || '(none)'} is not supported locally`);
        }
        const text = await readBody(request);
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        send(response, 200, operation(stepFunctions, body));
      } catch (error) {
        if (error instanceof StepFunctionsApiError) {
          send(response, 400, { __type: `com.amazonaws.sfn#${error.type}`, message: error.message }, { 'x-amzn-ErrorType': error.type });
        } else if (error instanceof SyntaxError) {
          send(response, 400, { __type: 'com.amazonaws.sfn#SerializationException', message: error.message }, { 'x-amzn-ErrorType': 'SerializationException' });
        } else {
          send(response, 500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) });
        }
      }
    })();
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    stepFunctions,
    async close() {
      stepFunctions.abortAll();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
