/**
 * Loads the state machines of a synthesized template onto aws-local-stepfunctions 3.0.0: the definition
 * with its intrinsics resolved to local values, its Task states wired to local handlers (tasks.ts) and,
 * when asked, its Retry pauses shortened.
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { LOCAL_IDENTITY, type LocalIdentity } from '../identity.ts';
import { createIntrinsicResolver, type TemplateValue } from '../intrinsics.ts';
import type { CfnTemplate } from '../template.ts';
import { localFunctionArn, localStateMachineArn, localStateMachineName, stateMachineLogicalIds } from './arns.ts';
import { localTaskHandler, type TaskHandler } from './tasks.ts';

export interface StateMachineEnvironment {
  readonly template: CfnTemplate;
  /**
   * Runs a Lambda function of the template in-process and returns what its handler returned.
   * Throw the handler's own error (its `name` is what Retry/Catch match).
   */
  invokeLambda(functionLogicalId: string, payload: unknown, stateMachineLogicalId: string): Promise<unknown>;
  /** SQS client for `sqs:sendMessage` tasks (give it the local endpoint). */
  readonly sqsClient?: SQSClient;
  /** SQS client of one state machine (signed with its role's credentials), over `sqsClient`. */
  readonly sqsClientFor?: (stateMachineLogicalId: string) => SQSClient;
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
export interface RawExecutionEvent {
  type: string;
  timestamp: number;
  state?: { name: string; type: string };
  retry?: { attempt: number };
  Error?: string;
  Cause?: unknown;
}

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

/**
 * The definition of state machine `logicalId` with its intrinsics resolved: the environment's own
 * Ref/GetAtt first, else local defaults. Records each function ARN it resolves in `functionIdsByArn`.
 */
function resolveDefinition(logicalId: string, environment: StateMachineEnvironment, functionIdsByArn: Map<string, string>): StateMachineDefinition {
  const { template } = environment;
  const identity = environment.identity ?? LOCAL_IDENTITY;
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
  const properties = template.Resources[logicalId]?.Properties ?? {};
  const definitionSource = properties.DefinitionString ?? (properties.Definition !== undefined ? JSON.stringify(properties.Definition) : undefined);
  if (definitionSource === undefined) throw new Error(`${logicalId} has neither DefinitionString nor Definition`);
  const definitionText = resolve(definitionSource);
  if (typeof definitionText !== 'string') throw new Error(`${logicalId}: DefinitionString did not resolve to a string`);
  return JSON.parse(definitionText) as StateMachineDefinition;
}

/** Loads the state machine `logicalId` of the template, with its Task states wired to local handlers. */
export function loadStateMachine(logicalId: string, environment: StateMachineEnvironment): LocalStateMachine {
  const { template } = environment;
  const identity = environment.identity ?? LOCAL_IDENTITY;
  const resource = template.Resources[logicalId];
  if (resource?.Type !== 'AWS::StepFunctions::StateMachine') throw new Error(`${logicalId} is not a state machine of the template`);

  const functionIdsByArn = new Map<string, string>();
  const definition = resolveDefinition(logicalId, environment, functionIdsByArn);
  const taskEnvironment = {
    invokeLambda: (functionLogicalId: string, payload: unknown) => environment.invokeLambda(functionLogicalId, payload, logicalId),
    sqsClient: environment.sqsClientFor?.(logicalId) ?? environment.sqsClient,
    functionIdsByArn,
  };

  const taskHandlers: Record<string, TaskHandler> = {};
  const retryOverrides: Record<string, number | number[]> = {};
  for (const [stateName, state] of allStates(definition.States as unknown as Record<string, AslState>)) {
    if (state.Retry && environment.retryIntervalOverrides !== undefined) {
      const override = typeof environment.retryIntervalOverrides === 'number' ? environment.retryIntervalOverrides : environment.retryIntervalOverrides[stateName];
      if (override !== undefined) retryOverrides[stateName] = override;
    }
    if (state.Type === 'Task') taskHandlers[stateName] = localTaskHandler(logicalId, stateName, state.Resource ?? '', taskEnvironment);
  }

  const machine = new StateMachine(definition, { validationOptions: { checkArn: false } });
  const name = localStateMachineName(template, logicalId);
  const arn = localStateMachineArn(template, logicalId, identity);
  const type = resource.Properties?.StateMachineType === 'EXPRESS' ? 'EXPRESS' : 'STANDARD';
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
