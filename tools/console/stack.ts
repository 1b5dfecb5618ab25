/**
 * The stack the console looks at, from an outputs file: the twin's (`npm start` writes
 * `.payflow/outputs.local.json`, with its local endpoints) or a deployed stack's (`cdk deploy
 * --outputs-file`, read with the SDK's usual credentials and region). The same names in both: that is
 * what lets one page work in both places.
 */
import { existsSync, readFileSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { LambdaClient } from '@aws-sdk/client-lambda';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export type StackOutputs = Record<string, string>;

export interface ConsoleStack {
  readonly stackName: string;
  /** 'local' when the outputs name the twin's endpoints, else 'aws'. */
  readonly target: 'local' | 'aws';
  readonly region: string;
  /** The outputs without any secret (API key values and anything named like a secret). */
  readonly outputs: StackOutputs;
  /** Merchants by their output name (`ApiKeyIdMerchantA` → MerchantA) and id (the API key id handlers see). */
  readonly merchants: ReadonlyArray<{ name: string; id: string }>;
}

export interface ConsoleClients {
  readonly dynamodb: DynamoDBDocumentClient;
  readonly streams: DynamoDBStreamsClient;
  readonly sqs: SQSClient;
  readonly sfn: SFNClient;
  /** To redrive kept stream records through the relay function (the twin's LocalLambdaEndpoint). */
  readonly lambda: LambdaClient;
  destroy(): void;
}

/** Output names whose values are never shown nor sent to the page. */
export const SECRET_OUTPUT = /ApiKeyValue|secret|password|token|credential/i;

export function safeOutputs(outputs: StackOutputs): StackOutputs {
  return Object.fromEntries(Object.entries(outputs).filter(([name]) => !SECRET_OUTPUT.test(name)));
}

/** Reads `{ [stackName]: outputs }`; the stack named `stackName` (default Payflow), else the file's only stack. */
export function readOutputsFile(file: string, stackName = 'Payflow'): { stackName: string; outputs: StackOutputs } {
  if (!existsSync(file)) throw new Error(`No outputs file at ${file}: run npm start, or pass --outputs-file <cdk deploy --outputs-file file>`);
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, StackOutputs>;
  if (all[stackName]) return { stackName, outputs: all[stackName] };
  const names = Object.keys(all);
  if (names.length === 1) return { stackName: names[0]!, outputs: all[names[0]!]! };
  throw new Error(`${file} has no stack ${stackName} (it has ${names.join(', ') || 'none'}): pass --stack <name>`);
}

const regionOfArn = (arn: string | undefined) => arn?.split(':')[3] || undefined;

export function consoleStack(stackName: string, outputs: StackOutputs): ConsoleStack {
  const local = outputs.LocalDynamoDbEndpoint !== undefined;
  const region = (local ? outputs.LocalRegion : undefined) ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? regionOfArn(outputs.PaymentSagaArn) ?? 'us-east-1';
  const merchants = Object.entries(outputs)
    .filter(([name]) => name.startsWith('ApiKeyId'))
    .map(([name, id]) => ({ name: name.slice('ApiKeyId'.length), id }));
  return { stackName, target: local ? 'local' : 'aws', region, outputs: safeOutputs(outputs), merchants };
}

/** SDK clients for the stack: the twin's endpoints with dummy credentials, or AWS with the default provider chain. */
export function consoleClients(stack: ConsoleStack, rawOutputs: StackOutputs): ConsoleClients {
  const local = stack.target === 'local';
  const common = { region: stack.region, ...(local ? { credentials: { accessKeyId: 'local', secretAccessKey: 'local' } } : {}) };
  const raw = new DynamoDBClient({ ...common, ...(local ? { endpoint: rawOutputs.LocalDynamoDbEndpoint } : {}) });
  const dynamodb = DynamoDBDocumentClient.from(raw, { marshallOptions: { removeUndefinedValues: true } });
  const streams = new DynamoDBStreamsClient({ ...common, ...(local ? { endpoint: rawOutputs.LocalDynamoDbEndpoint } : {}) });
  // Locally, send to the endpoint rather than to the host inside a queue URL (it may not resolve).
  const sqs = new SQSClient({ ...common, ...(local && rawOutputs.LocalSqsEndpoint ? { endpoint: rawOutputs.LocalSqsEndpoint, useQueueUrlAsEndpoint: false } : {}) });
  const sfn = new SFNClient({ ...common, ...(local ? { endpoint: rawOutputs.LocalStepFunctionsEndpoint } : {}) });
  const lambda = new LambdaClient({ ...common, ...(local ? { endpoint: rawOutputs.LocalLambdaEndpoint } : {}) });
  return {
    dynamodb,
    streams,
    sqs,
    sfn,
    lambda,
    destroy() {
      lambda.destroy();
      dynamodb.destroy();
      raw.destroy();
      streams.destroy();
      sqs.destroy();
      sfn.destroy();
    },
  };
}
