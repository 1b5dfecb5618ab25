/**
 * The Task states a local state machine runs, overridden by state name (aws-local-stepfunctions does not
 * call AWS itself):
 * - `arn:aws:states:::lambda:invoke` calls the environment's `invokeLambda(functionLogicalId, payload)` and
 *   returns the Invoke response shape `{StatusCode: 200, ExecutedVersion, Payload}`, so the definition's
 *   own `$.Payload` selectors work. A thrown error keeps its `name` (what Retry/Catch match) and, as
 *   in AWS, its Cause becomes the JSON string `{"errorType","errorMessage","trace"}`.
 * - `arn:aws:states:::sqs:sendMessage` sends the message with a real SQS client (fauxqs locally).
 * Any other Task resource is refused when the machine is loaded, so nothing runs half-emulated.
 */
import { SendMessageCommand, type SendMessageCommandInput, type SQSClient } from '@aws-sdk/client-sqs';
import { assertTaskResultWithinLimit } from '../limits/step-functions.ts';

const LAMBDA_INVOKE = 'arn:aws:states:::lambda:invoke';
const SQS_SEND_MESSAGE = 'arn:aws:states:::sqs:sendMessage';

export type TaskHandler = (input: unknown) => Promise<unknown>;

/** What the Task overrides call. */
export interface TaskEnvironment {
  /** Runs a Lambda function of the template by logical id; throws the handler's own error. */
  invokeLambda(functionLogicalId: string, payload: unknown): Promise<unknown>;
  /** SQS client for `sqs:sendMessage` tasks. */
  readonly sqsClient?: SQSClient;
  /** Function ARN (as the definition resolved it) -> logical id. */
  readonly functionIdsByArn: ReadonlyMap<string, string>;
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

function lambdaInvokeTask(stateName: string, environment: TaskEnvironment): TaskHandler {
  return async (input) => {
    const { FunctionName, Payload } = input as { FunctionName: string; Payload?: unknown };
    const { functionIdsByArn } = environment;
    const functionId = functionIdsByArn.get(FunctionName) ?? functionIdsByArn.get(FunctionName.replace(/:[^:]+$/, '')) ?? FunctionName.split(':')[6];
    if (!functionId) throw new Error(`${stateName}: cannot tell which function ${FunctionName} is`);
    let result: unknown;
    try {
      result = await environment.invokeLambda(functionId, Payload ?? null);
    } catch (error) {
      throw toLambdaFunctionError(error);
    }
    assertTaskResultWithinLimit(LAMBDA_INVOKE, result);
    // What the Invoke API returns: the payload is the handler's JSON result (null for undefined).
    return { StatusCode: 200, ExecutedVersion: '$LATEST', Payload: result === undefined ? null : JSON.parse(JSON.stringify(result)) };
  };
}

function sqsSendMessageTask(stateName: string, environment: TaskEnvironment): TaskHandler {
  return async (input) => {
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
}

/** The local handler of the Task state `stateName` of state machine `logicalId`, by its Resource. */
export function localTaskHandler(logicalId: string, stateName: string, resourceArn: string, environment: TaskEnvironment): TaskHandler {
  if (resourceArn === LAMBDA_INVOKE) return lambdaInvokeTask(stateName, environment);
  if (resourceArn === SQS_SEND_MESSAGE) return sqsSendMessageTask(stateName, environment);
  throw new Error(`${logicalId}.${stateName}: Task resource ${resourceArn} is not emulated locally`);
}
