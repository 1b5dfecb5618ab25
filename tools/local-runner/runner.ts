/**
 * `npm start`: synthesizes the CDK app and runs THAT template on this machine — tables in DynamoDB Local,
 * queues in fauxqs, state machines on aws-local-stepfunctions, every function in worker threads from its
 * bundled asset, event source mappings and schedules as AWS runs them, and the REST API on a local HTTP
 * front — then writes an outputs file shaped like `cdk deploy --outputs-file`.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { MalformedRequestBody } from './api-gateway/malformed-requests.ts';
import { localApiId, registerApiGatewayReferences } from './api-gateway/references.ts';
import { startApiGateway, type LocalApiGateway } from './api-gateway/server.ts';
import type { LocalApiKey } from './api-gateway/template.ts';
import { startDynamoDbLocal } from './dynamodb/dynamodb-local.ts';
import { LOCAL_IDENTITY } from './identity.ts';
import type { TemplateValue } from './intrinsics.ts';
import { LocalLambdaRuntime, type FunctionLogSink, type LocalFunction } from './lambda/runtime.ts';
import type { EventSourceMappingProperties } from './event-source-mappings/mapping.ts';
import { createQueuesFromTemplate, type LocalQueue } from './sqs/queues.ts';
import { startSqsEmulator } from './sqs/emulator.ts';
import { startSqsPoller, type SqsPoller } from './event-source-mappings/sqs-poller.ts';
import { startStreamPoller, type StreamPoller } from './event-source-mappings/stream-poller.ts';
import { LocalReferences } from './references.ts';
import { startSchedules, type LocalSchedules } from './eventbridge/schedules.ts';
import { localStateMachineArn, localStateMachineName } from './step-functions/arns.ts';
import { LocalStepFunctions } from './step-functions/executions.ts';
import { loadStateMachines } from './step-functions/machines.ts';
import { startStepFunctionsServer, type StepFunctionsServer } from './step-functions/server.ts';
import { createTablesFromTemplate } from './dynamodb/tables.ts';
import { assertSupportedTemplate, readStackTemplate, resourcesOfType, type CfnTemplate } from './template.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');
export const DEFAULT_OUTPUTS_FILE = '.payflow/outputs.local.json';
export const DEFAULT_PORT = 3000;
const DEFAULT_STACK_NAME = 'Payflow';
/** Lambda starts an SQS event source mapping with five pollers. */
const SQS_POLLER_CONCURRENCY = 5;

export interface LocalStackOptions {
  /** Run this cloud assembly instead of synthesizing one. */
  cdkOut?: string;
  /** Where to synthesize (default `.payflow/cdk.out`, emptied first). */
  synthOutdir?: string;
  /** Extra CDK context, over cdk.json's. */
  context?: Record<string, unknown>;
  stackName?: string;
  /** HTTP port of the API (default 3000; 0 picks a free one). */
  port?: number;
  host?: string;
  /** Where to write the outputs (default `.payflow/outputs.local.json`); `false` writes none. */
  outputsFile?: string | false;
  /**
   * Multiplies time for everything that waits on purpose: schedule periods, saga Retry pauses and
   * queue visibility timeouts (e.g. 0.02 in tests). Function timeouts are never scaled. Default 1.
   */
  timeScale?: number;
  /** Where function output (their logs) goes; default: nowhere. */
  functionLogs?: FunctionLogSink;
  /** One line per API request, and runner diagnostics (failed scheduled invocations, ...). */
  log?: (line: string) => void;
  /** Extra environment for every function (e.g. POWERTOOLS_LOG_LEVEL), over the template's. */
  functionEnvironment?: Record<string, string>;
  /** Concurrent executions per function (default: the function's reserved concurrency, else 10). */
  maxConcurrencyPerFunction?: number;
  /**
   * Start one execution environment per function before ready (default false: each function starts
   * on its first invocation, a cold start as on Lambda).
   */
  warmFunctions?: boolean;
  /** API key values to use instead of generated ones, by key id. */
  apiKeyValues?: Record<string, string>;
  /** The body of the API's answer to a request Node's HTTP parser refuses (default `{"message": ...}`). */
  malformedRequestBody?: MalformedRequestBody;
}

export type StackOutputs = Record<string, string>;

export interface LocalStack {
  /** `{ [stackName]: { ...template outputs resolved locally, ...local extras } }` — what the outputs file holds. */
  readonly outputs: Record<string, StackOutputs>;
  readonly stackName: string;
  readonly apiUrl: string;
  readonly apiKeys: ReadonlyArray<LocalApiKey & { outputSuffix: string }>;
  readonly endpoints: { dynamodb: string; sqs: string; stepFunctions: string };
  readonly outputsFile?: string;
  /** Milliseconds spent in each startup phase. */
  readonly timings: Record<string, number>;
  readonly stepFunctions: LocalStepFunctions;
  readonly lambdas: LocalLambdaRuntime;
  stop(): Promise<void>;
}

/**
 * CDK bundles each function with `npx --no-install esbuild`: npm's own start-up, about half a second,
 * for every function. This directory's `npx` runs the project's esbuild binary directly for exactly
 * that command (same binary, same arguments, the same bundles) and hands anything else to the real npx.
 */
function npxShimDirectory(): string | undefined {
  const esbuild = join(PROJECT_ROOT, 'node_modules/.bin/esbuild');
  if (process.platform === 'win32' || !existsSync(esbuild)) return undefined;
  const dir = mkdtempSync(join(tmpdir(), 'payflow-npx-'));
  const quote = (text: string) => `'${text.replaceAll("'", `'\\''`)}'`;
  writeFileSync(
    join(dir, 'npx'),
    [
      '#!/bin/sh',
      `if [ "$1" = "--no-install" ] && [ "$2" = "esbuild" ]; then shift 2; exec ${quote(esbuild)} "$@"; fi`,
      `PATH=${quote(process.env.PATH ?? '')} exec npx "$@"`,
      '',
    ].join('\n'),
    { mode: 0o755 },
  );
  return dir;
}

/**
 * Synthesizes the app as `cdk synth` does (cdk.json's context, asset metadata on), in a child process,
 * minus CDK's built-in CloudFormation schema validation (CDK_VALIDATION=false: seconds of WebAssembly
 * whose findings are warnings and never change the template; `cdk synth` and test/cdk still run it).
 */
export async function synthesize(options: { outdir: string; context?: Record<string, unknown> }): Promise<void> {
  const cdkJsonPath = join(PROJECT_ROOT, 'cdk.json');
  const cdkJson = existsSync(cdkJsonPath) ? (JSON.parse(readFileSync(cdkJsonPath, 'utf8')) as { context?: Record<string, unknown> }) : {};
  const context = { ...cdkJson.context, 'aws:cdk:enable-asset-metadata': true, ...options.context };
  rmSync(options.outdir, { recursive: true, force: true });
  mkdirSync(options.outdir, { recursive: true });
  const shim = npxShimDirectory();
  const child = spawn(process.execPath, ['--import', 'tsx', join(PROJECT_ROOT, 'bin/app.ts')], {
    cwd: PROJECT_ROOT,
    env: {
      ...process.env,
      CDK_OUTDIR: options.outdir,
      CDK_CONTEXT_JSON: JSON.stringify(context),
      CDK_VALIDATION: 'false',
      ...(shim ? { PATH: `${shim}${delimiter}${process.env.PATH ?? ''}` } : {}),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.once('exit', () => shim && rmSync(shim, { recursive: true, force: true }));
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const code = await new Promise<number | null>((done, reject) => {
    child.once('error', reject);
    child.once('exit', done);
  });
  if (code !== 0) throw new Error(`Synthesis failed (exit ${code}):\n${output.slice(-4000)}`);
}

/** Queue logical id -> timeout (s) of the function an SQS event source mapping feeds from it. */
function consumerTimeouts(template: CfnTemplate): Record<string, number> {
  const timeouts: Record<string, number> = {};
  for (const [, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const props = (mapping.Properties ?? {}) as { EventSourceArn?: { 'Fn::GetAtt'?: [string, string] }; FunctionName?: { Ref?: string } };
    const queueId = props.EventSourceArn?.['Fn::GetAtt']?.[0];
    const functionId = props.FunctionName?.Ref;
    if (!queueId || !functionId || template.Resources[queueId]?.Type !== 'AWS::SQS::Queue') continue;
    const timeout = Number(template.Resources[functionId]?.Properties?.Timeout ?? 3);
    timeouts[queueId] = Math.max(timeouts[queueId] ?? 0, timeout);
  }
  return timeouts;
}

/** The bundled module of a function: `<cdk.out>/<aws:asset:path>/index.mjs` (or the asset named by its S3 key). */
function functionEntryFile(cdkOut: string, logicalId: string, template: CfnTemplate): { entryFile: string; handlerExport: string } {
  const resource = template.Resources[logicalId]!;
  const props = resource.Properties ?? {};
  const handler = String(props.Handler ?? 'index.handler');
  const dot = handler.lastIndexOf('.');
  const [moduleName, handlerExport] = [handler.slice(0, dot), handler.slice(dot + 1)];
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  const s3Key = props.Code?.S3Key;
  const assetDir =
    typeof metadataPath === 'string'
      ? join(cdkOut, metadataPath)
      : typeof s3Key === 'string'
        ? join(cdkOut, `asset.${s3Key.replace(/\.zip$/, '')}`)
        : undefined;
  if (!assetDir) throw new Error(`${logicalId}: no bundled asset (inline code and container images are not supported locally)`);
  for (const extension of ['.mjs', '.js', '.cjs']) {
    const entryFile = join(assetDir, `${moduleName}${extension}`);
    if (existsSync(entryFile)) return { entryFile, handlerExport };
  }
  throw new Error(`${logicalId}: ${moduleName}.mjs/.js not found in ${assetDir}`);
}

/** `MerchantA` -> `merchant-a`. */
const kebabCase = (pascal: string) => pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** Starts the whole stack locally. Resolves once the API answers; `stop()` ends everything it started. */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const stackName = options.stackName ?? DEFAULT_STACK_NAME;
  const identity = LOCAL_IDENTITY;
  const timeScale = options.timeScale ?? 1;
  const log = options.log ?? (() => undefined);
  const timings: Record<string, number> = {};
  const startedAt = Date.now();
  const mark = (phase: string, since: number) => (timings[phase] = Date.now() - since);
  const stoppers: Array<() => Promise<void> | void> = [];
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    for (const stopOne of stoppers.reverse()) {
      try {
        await stopOne();
      } catch (error) {
        log(`stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };

  try {
    // Synthesis (CPU-bound, in a child) and the emulators' start overlap.
    const cdkOut = options.cdkOut ?? resolve(options.synthOutdir ?? '.payflow/cdk.out');
    const synthStart = Date.now();
    const readTemplate = () => {
      const read = readStackTemplate(cdkOut, stackName);
      assertSupportedTemplate(read);
      return read;
    };
    // A given assembly is checked before anything starts; a synthesized one as soon as it exists.
    const given = options.cdkOut ? readTemplate() : undefined;
    const templateReady = given ? Promise.resolve(given) : synthesize({ outdir: cdkOut, context: options.context }).then(() => (mark('synth', synthStart), readTemplate()));
    const emulatorsStart = Date.now();
    const [dynamodbStarted, fauxqsStarted, templateRead] = await Promise.allSettled([
      startDynamoDbLocal().finally(() => mark('dynamodb-local', emulatorsStart)),
      startSqsEmulator({ port: 0, logger: false }),
      templateReady,
    ]);
    // Whatever started is stopped on the way out, even when something else failed to.
    if (dynamodbStarted.status === 'fulfilled') stoppers.push(() => dynamodbStarted.value.stop());
    if (fauxqsStarted.status === 'fulfilled') stoppers.push(() => fauxqsStarted.value.stop());
    for (const settled of [templateRead, dynamodbStarted, fauxqsStarted]) if (settled.status === 'rejected') throw settled.reason;
    const dynamodbLocal = (dynamodbStarted as PromiseFulfilledResult<Awaited<ReturnType<typeof startDynamoDbLocal>>>).value;
    const fauxqs = (fauxqsStarted as PromiseFulfilledResult<Awaited<ReturnType<typeof startSqsEmulator>>>).value;
    const template = (templateRead as PromiseFulfilledResult<CfnTemplate>).value;
    const endpoints = { dynamodb: dynamodbLocal.endpoint, sqs: `http://127.0.0.1:${fauxqs.port}`, stepFunctions: '' };
    const references = new LocalReferences(template, identity, stackName);
    const clientConfig = { region: identity.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };

    // Tables and queues
    const resourcesStart = Date.now();
    const dynamodb = new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb });
    const sqs = new SQSClient({ ...clientConfig, endpoint: endpoints.sqs });
    stoppers.push(() => (dynamodb.destroy(), sqs.destroy()));
    const tableNames = await createTablesFromTemplate(dynamodb, template, (logicalId) => {
      const name = template.Resources[logicalId]?.Properties?.TableName;
      return typeof name === 'string' ? name : logicalId;
    });
    const streamArns = new Set<string>();
    for (const [logicalId, tableName] of Object.entries(tableNames)) {
      const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
      if (Table!.LatestStreamArn) streamArns.add(Table!.LatestStreamArn);
      references.set(logicalId, tableName, {
        Arn: Table!.TableArn!,
        ...(Table!.LatestStreamArn ? { StreamArn: Table!.LatestStreamArn } : {}),
      });
    }
    const queues = await createQueuesFromTemplate(
      sqs,
      template,
      references,
      timeScale === 1 ? {} : { visibilityTimeoutScale: timeScale, minimumVisibilitySeconds: consumerTimeouts(template) },
    );
    mark('tables+queues', resourcesStart);

    // What the other resources are called locally, before anything resolves a reference to them.
    const functionIds = resourcesOfType(template, 'AWS::Lambda::Function').map(([logicalId]) => logicalId);
    const functionNames = new Map<string, string>();
    for (const logicalId of functionIds) {
      const name = template.Resources[logicalId]!.Properties?.FunctionName;
      const functionName = typeof name === 'string' ? name : logicalId;
      functionNames.set(logicalId, functionName);
      references.set(logicalId, functionName, { Arn: `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${functionName}` });
    }
    for (const [logicalId] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
      const arn = localStateMachineArn(template, logicalId, identity);
      references.set(logicalId, arn, { Arn: arn, Name: localStateMachineName(template, logicalId) });
    }
    const restApis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
    registerApiGatewayReferences(template, references);
    for (const [logicalId, resource] of [...resourcesOfType(template, 'AWS::Events::Rule'), ...resourcesOfType(template, 'AWS::Scheduler::Schedule')]) {
      const name = typeof resource.Properties?.Name === 'string' ? resource.Properties.Name : logicalId;
      const service = resource.Type === 'AWS::Events::Rule' ? 'events' : 'scheduler';
      const kind = resource.Type === 'AWS::Events::Rule' ? 'rule' : 'schedule/default';
      references.set(logicalId, name, { Arn: `arn:aws:${service}:${identity.region}:${identity.accountId}:${kind}/${name}` });
    }
    for (const [logicalId] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) references.set(logicalId, logicalId);

    // State machines, behind the local Step Functions API the functions call.
    let lambdas: LocalLambdaRuntime | undefined;
    const machines = loadStateMachines({
      template: template,
      invokeLambda: (functionLogicalId, payload) => lambdas!.invoke(functionLogicalId, payload),
      sqsClient: sqs,
      queueUrls: Object.fromEntries(Object.values(queues).map((queue: LocalQueue) => [queue.logicalId, queue.url])),
      ref: (logicalId) => references.ref(logicalId),
      getAtt: (logicalId, attribute) => references.getAtt(logicalId, attribute),
      identity,
      ...(timeScale === 1 ? {} : { retryIntervalOverrides: Math.round(1000 * timeScale) }),
    });
    const stepFunctions = new LocalStepFunctions(machines);
    const sfnServer: StepFunctionsServer = await startStepFunctionsServer(stepFunctions);
    stoppers.push(() => sfnServer.close());
    endpoints.stepFunctions = sfnServer.endpoint;

    // Functions
    const functionsStart = Date.now();
    const baseEnvironment: Record<string, string> = {
      AWS_REGION: identity.region,
      AWS_DEFAULT_REGION: identity.region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SFN: endpoints.stepFunctions,
    };
    const functions: LocalFunction[] = functionIds.map((logicalId) => {
      const props = template.Resources[logicalId]!.Properties ?? {};
      const runtime = String(props.Runtime ?? '');
      if (!runtime.startsWith('nodejs')) throw new Error(`${logicalId}: runtime ${runtime} is not supported locally (Node.js only)`);
      const variables = references.resolve((props.Environment?.Variables ?? {}) as TemplateValue) as Record<string, TemplateValue>;
      const functionName = functionNames.get(logicalId)!;
      return {
        logicalId,
        functionName,
        arn: String(references.getAtt(logicalId, 'Arn')),
        ...functionEntryFile(cdkOut, logicalId, template),
        timeoutSeconds: Number(props.Timeout ?? 3),
        memoryMb: Number(props.MemorySize ?? 128),
        environment: {
          ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])),
          ...baseEnvironment,
          ...options.functionEnvironment,
        },
        maxConcurrency: options.maxConcurrencyPerFunction ?? Number(props.ReservedConcurrentExecutions ?? 10),
      };
    });
    lambdas = new LocalLambdaRuntime(functions, { logSink: options.functionLogs });
    stoppers.push(() => lambdas!.stop());
    // Runs before the functions stop (stoppers run in reverse): no execution is left calling them.
    stoppers.push(() => stepFunctions.abortAll());
    const warming = options.warmFunctions ? lambdas.warm() : Promise.resolve();

    // Event source mappings: pollers that invoke the functions as Lambda's mappings do.
    const streams = new DynamoDBStreamsClient({ ...clientConfig, endpoint: endpoints.dynamodb });
    stoppers.push(() => streams.destroy());
    const queueByArn = new Map(Object.values(queues).map((queue) => [queue.arn, queue]));
    const pollers: Array<StreamPoller | SqsPoller> = [];
    stoppers.push(() => Promise.all(pollers.map((poller) => poller.stop())).then(() => undefined));
    for (const [logicalId, resource] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
      const { EventSourceArn, FunctionName, ...mapping } = references.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
      const properties = mapping as EventSourceMappingProperties;
      if (properties.Enabled === false) continue;
      const fn = lambdas.find(String(FunctionName));
      if (!fn) throw new Error(`${logicalId}: FunctionName ${String(FunctionName)} is not a function of the stack`);
      const onError = (error: unknown) => log(`event source mapping ${logicalId}: ${error instanceof Error ? error.message : String(error)}`);
      const invoke = (event: unknown) => lambdas!.invoke(fn.logicalId, event);
      const queue = queueByArn.get(String(EventSourceArn));
      if (queue) {
        const concurrency = (mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? SQS_POLLER_CONCURRENCY;
        pollers.push(startSqsPoller({ queueUrl: queue.url, queueArn: queue.arn, mapping: properties, invoke, sqs, concurrency, onError }));
      } else if (streamArns.has(String(EventSourceArn))) {
        pollers.push(
          startStreamPoller({
            streamArn: String(EventSourceArn),
            mapping: properties,
            invoke,
            streams,
            sqs,
            functionArn: fn.arn,
            resolveDestination: (destination) => queueByArn.get(String(destination))?.url,
            onError,
          }),
        );
      } else {
        throw new Error(`${logicalId}: event source ${String(EventSourceArn)} is not supported locally (DynamoDB streams and SQS queues of the stack)`);
      }
    }

    // The API
    let api: LocalApiGateway | undefined;
    if (restApis.length > 0) {
      api = await startApiGateway({
        template,
        resolve: references.resolve,
        invoke: (functionArn, event) => lambdas!.invoke(functionArn, event),
        apiId: localApiId(restApis[0]![0]),
        region: identity.region,
        accountId: identity.accountId,
        port: options.port ?? DEFAULT_PORT,
        host: options.host,
        apiKeyValues: options.apiKeyValues,
        malformedRequestBody: options.malformedRequestBody,
        log,
      });
      stoppers.push(() => api!.close());
    }

    const schedules: LocalSchedules = startSchedules({
      template,
      resolve: references.resolve,
      invoke: (functionArn, event) => lambdas!.invoke(functionArn, event),
      isFunction: (arn) => lambdas!.find(arn) !== undefined,
      region: identity.region,
      accountId: identity.accountId,
      timeScale,
      onError: (scheduleId, error) => log(`schedule ${scheduleId}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
    });
    stoppers.push(() => schedules.stop());

    await warming;
    mark('functions', functionsStart);

    // Outputs, as `cdk deploy --outputs-file` writes them, plus what only a local stack has.
    const stackOutputs: StackOutputs = {};
    const deployedUrl = api && `https://${api.apiId}.execute-api.${identity.region}.amazonaws.com/${api.stageName}/`;
    for (const [name, output] of Object.entries(template.Outputs ?? {})) {
      if (output.Condition) continue;
      let value = String(references.resolve(output.Value as TemplateValue));
      if (api && deployedUrl && value.startsWith(deployedUrl)) value = api.url + value.slice(deployedUrl.length);
      stackOutputs[name] = value;
    }
    const apiKeys = (api?.apiKeys ?? []).map((key) => {
      const outputName = Object.entries(template.Outputs ?? {}).find(([, output]) => JSON.stringify(output.Value) === JSON.stringify({ Ref: key.logicalId }))?.[0];
      const outputSuffix = outputName?.startsWith('ApiKeyId') ? outputName.slice('ApiKeyId'.length) : key.logicalId;
      return { ...key, outputSuffix };
    });
    for (const key of apiKeys) stackOutputs[`ApiKeyValue${key.outputSuffix}`] = key.value;
    Object.assign(stackOutputs, {
      LocalDynamoDbEndpoint: endpoints.dynamodb,
      LocalSqsEndpoint: endpoints.sqs,
      LocalStepFunctionsEndpoint: endpoints.stepFunctions,
      LocalRegion: identity.region,
    });
    const outputs = { [stackName]: stackOutputs };
    const outputsFile = options.outputsFile === false ? undefined : resolve(options.outputsFile ?? DEFAULT_OUTPUTS_FILE);
    if (outputsFile) {
      mkdirSync(dirname(outputsFile), { recursive: true });
      writeFileSync(outputsFile, `${JSON.stringify(outputs, null, 2)}\n`);
    }
    timings.total = Date.now() - startedAt;

    return {
      outputs,
      stackName,
      apiUrl: api?.url ?? '',
      apiKeys,
      endpoints,
      outputsFile,
      timings,
      stepFunctions,
      lambdas,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The one line `npm start` prints when the stack is ready. */
export function readyLine(stack: LocalStack): string {
  const key = stack.apiKeys[0];
  const keyPart = key ? ` — API key (${kebabCase(key.outputSuffix)}): ${key.value}` : '';
  const outputsPart = stack.outputsFile ? ` — outputs: ${stack.outputsFile}` : '';
  return `Payflow is ready at ${stack.apiUrl}${keyPart}${outputsPart}`;
}
