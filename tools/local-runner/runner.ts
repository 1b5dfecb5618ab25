/**
 * Runs a stack of a synthesized CDK app on this machine, with no Docker and no AWS account — tables in
 * DynamoDB Local, queues in fauxqs, KMS keys in a small local KMS, state machines on aws-local-stepfunctions, every function in worker
 * threads from its bundled asset, event source mappings and schedules as AWS runs them, and the REST API
 * on a local HTTP front — then writes an outputs file shaped like `cdk deploy --outputs-file`.
 *
 * A general tool: everything it knows of the application comes from the cloud assembly and its options
 * (the stack's name, the app to synthesize, the outputs to add, the ready message).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { MalformedRequestBody } from './api-gateway/malformed-requests.ts';
import { GatewayError } from './api-gateway/gateway-responses.ts';
import { localApiId, registerApiGatewayReferences } from './api-gateway/references.ts';
import { startApiGateway, type LocalApiGateway } from './api-gateway/server.ts';
import { startDynamoDbLocal } from './dynamodb/dynamodb-local.ts';
import { createTablesFromTemplate } from './dynamodb/tables.ts';
import { registerEventSourceMappingReferences, startEventSourceMappings } from './event-source-mappings/from-template.ts';
import { registerScheduleReferences, startSchedules } from './eventbridge/schedules.ts';
import { FaultInjector, type FaultPlan } from './faults/plan.ts';
import { LocalIam } from './iam/local-iam.ts';
import { LOCAL_IDENTITY, type LocalIdentity } from './identity.ts';
import { localKeyArn, localKeyId, startLocalKms } from './kms/emulator.ts';
import { localFunctions, registerFunctionReferences } from './lambda/functions.ts';
import { LambdaFunctionError, LocalLambdaRuntime, type FunctionLogSink, type LocalFunction } from './lambda/runtime.ts';
import { apiKeysWithOutputNames, templateOutputs, writeOutputsFile, type LocalStackApiKey, type StackOutputs } from './outputs.ts';
import { LocalReferences } from './references.ts';
import { startSqsEmulator } from './sqs/emulator.ts';
import { consumerTimeouts, createQueuesFromTemplate, type LocalQueue } from './sqs/queues.ts';
import { registerStateMachineReferences } from './step-functions/arns.ts';
import { LocalStepFunctions } from './step-functions/executions.ts';
import { loadStateMachines } from './step-functions/machines.ts';
import { startStepFunctionsServer } from './step-functions/server.ts';
import { startLambdaApiServer } from './lambda/server.ts';
import { synthesize } from './synthesize.ts';
import { assertSupportedTemplate, readStackTemplate, resourcesOfType, type CfnTemplate } from './template.ts';

export type { LocalStackApiKey, StackOutputs } from './outputs.ts';

/** DynamoDB operations that write items (and so may add stream records). */
const TABLE_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems', 'ExecuteStatement', 'BatchExecuteStatement', 'ExecuteTransaction']);
/**
 * Stream polling while writes come (a record appears a few ms after its write), once they have stopped, and
 * once nothing has come for 10 s (the safety net for writes that do not pass the proxy: a test's own client).
 */
const STREAM_POLL_BUSY_MS = 20;
const STREAM_POLL_IDLE_MS = 1000;
const STREAM_POLL_QUIET_MS = 5000;

export interface LocalStackOptions {
  /** The stack to run: its artifact in the cloud assembly (and `AWS::StackName`). */
  stackName: string;
  /** Run this cloud assembly instead of synthesizing one. */
  cdkOut?: string;
  /** The CDK app to synthesize when no `cdkOut` is given: its entry module, run with tsx (see synthesize.ts). */
  app?: string;
  /** The CDK project (cdk.json's context, node_modules' esbuild); default the working directory. */
  projectDir?: string;
  /** Where to synthesize (emptied first); default a temporary directory, removed on stop. */
  synthOutdir?: string;
  /** Extra CDK context, over cdk.json's. */
  context?: Record<string, unknown>;
  /**
   * Use this running DynamoDB Local instead of starting one (e.g. many short runs in a row); the template's
   * tables must not exist in it yet. Default: the runner starts (and stops) its own.
   */
  dynamodbEndpoint?: string;
  /** HTTP port of the API (default 0: a free one). */
  port?: number;
  host?: string;
  /** Where to write the outputs (shaped like `cdk deploy --outputs-file`); none when absent. */
  outputsFile?: string;
  /**
   * Multiplies time for everything that waits on purpose: schedule periods, state machine Retry pauses and
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
  /** The twin's limit on each function's execution environments (default: lambda/runtime.ts DEFAULT_ENVIRONMENTS_PER_FUNCTION). */
  maxEnvironmentsPerFunction?: number;
  /**
   * Start one execution environment per function before ready (default false: each function starts
   * on its first invocation, a cold start as on Lambda).
   */
  warmFunctions?: boolean;
  /** API key values to use instead of generated ones, by key id. */
  apiKeyValues?: Record<string, string>;
  /** The body of the API's answer to a request Node's HTTP parser refuses (default `{"message": ...}`). */
  malformedRequestBody?: MalformedRequestBody;
  /** Outputs to add to the template's once the stack runs (e.g. API key values); before the runner's own `Local*` ones. */
  extraOutputs?: (stack: RunningStack) => StackOutputs;
  /**
   * Enforce IAM (default true): every function and state machine calls the emulators with credentials of its
   * role and is authorized against the role's synthesized policies; event source mappings, API Gateway and
   * schedules need the permissions AWS checks (see iam/local-iam.ts). False: every call is allowed.
   */
  iam?: boolean;
  /** Where to write, on stop, the access report: per role, the actions granted and those used, and every denial. */
  accessReportFile?: string;
  /**
   * Faults to inject into the calls functions and state machines make to DynamoDB, SQS and Step Functions
   * (faults/plan.ts); they are injected by the authorizing proxies, so they need `iam` (the default).
   */
  faults?: FaultPlan;
  /** The line that says the stack is ready (`LocalStack.readyMessage`); default `<stack> is ready at <API URL> — outputs: <file>`. */
  readyMessage?: (stack: Omit<LocalStack, 'readyMessage'>) => string;
}

export interface LocalEndpoints {
  dynamodb: string;
  sqs: string;
  stepFunctions: string;
  kms: string;
  /** The Lambda Invoke API (for tools; the stack's functions are not given it). */
  lambda?: string;
}

/** What the stack is once everything runs, before its outputs are written. */
export interface RunningStack {
  readonly stackName: string;
  /** The REST API's stage URL (`http://127.0.0.1:<port>/<stage>/`), or '' without a REST API. */
  readonly apiUrl: string;
  readonly apiKeys: readonly LocalStackApiKey[];
  readonly endpoints: LocalEndpoints;
}

export interface LocalStack extends RunningStack {
  /** `{ [stackName]: { ...template outputs resolved locally, ...extra outputs, ...local endpoints } }` — what the outputs file holds. */
  readonly outputs: Record<string, StackOutputs>;
  readonly outputsFile?: string;
  /** Milliseconds spent in each startup phase. */
  readonly timings: Record<string, number>;
  readonly stepFunctions: LocalStepFunctions;
  readonly lambdas: LocalLambdaRuntime;
  /** The stack's IAM (roles, authorizer, access report), unless started with `iam: false`. */
  readonly iam?: LocalIam;
  /** The fault injector (what it injected so far), when started with `faults`. */
  readonly faults?: FaultInjector;
  /** One line saying the stack is ready, and where (see `LocalStackOptions.readyMessage`). */
  readonly readyMessage: string;
  stop(): Promise<void>;
}

/** What a start has started (stopped in reverse order), and how long each phase took. */
class Startup {
  readonly timings: Record<string, number> = {};
  private readonly startedAt = Date.now();
  private readonly stoppers: Array<() => Promise<void> | void> = [];
  private stopped = false;

  constructor(private readonly log: (line: string) => void) {}

  /** Runs `stopper` on stop, before everything registered earlier. */
  onStop(stopper: () => Promise<void> | void): void {
    this.stoppers.push(stopper);
  }

  /** Records how long `phase` took since `since`. */
  mark(phase: string, since: number): void {
    this.timings[phase] = Date.now() - since;
  }

  finished(): void {
    this.timings.total = Date.now() - this.startedAt;
  }

  readonly stop = async (): Promise<void> => {
    if (this.stopped) return;
    this.stopped = true;
    for (const stopOne of this.stoppers.reverse()) {
      try {
        await stopOne();
      } catch (error) {
        this.log(`stopping: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  };
}

/**
 * The template (synthesized, or read from the given assembly) and the emulators, started side by side:
 * synthesis is CPU-bound in a child process, DynamoDB Local a JVM. A given assembly is checked before
 * anything starts; a synthesized one as soon as it exists. Whatever started is stopped on the way out,
 * even when something else failed to.
 */
async function templateAndEmulators(options: LocalStackOptions, startup: Startup): Promise<{ cdkOut: string; template: CfnTemplate; dynamodb: string; sqs: string }> {
  const readTemplate = (cdkOut: string) => {
    const read = readStackTemplate(cdkOut, options.stackName);
    assertSupportedTemplate(read);
    return read;
  };
  const synthesized = async (): Promise<{ cdkOut: string; template: CfnTemplate }> => {
    if (!options.app) throw new Error('No cloud assembly (cdkOut) and no CDK app (app) to synthesize one from');
    let outdir = options.synthOutdir && resolve(options.synthOutdir);
    if (!outdir) {
      const temporary = mkdtempSync(join(tmpdir(), 'local-runner-cdk.out-'));
      startup.onStop(() => rmSync(temporary, { recursive: true, force: true }));
      outdir = temporary;
    }
    const synthStart = Date.now();
    await synthesize({ app: options.app, projectDir: options.projectDir, outdir, context: options.context });
    startup.mark('synth', synthStart);
    return { cdkOut: outdir, template: readTemplate(outdir) };
  };
  const given = options.cdkOut ? { cdkOut: options.cdkOut, template: readTemplate(options.cdkOut) } : undefined;

  const emulatorsStart = Date.now();
  const [dynamodbStarted, fauxqsStarted, templateRead] = await Promise.allSettled([
    options.dynamodbEndpoint
      ? Promise.resolve({ endpoint: options.dynamodbEndpoint, stop: async () => undefined })
      : startDynamoDbLocal().finally(() => startup.mark('dynamodb-local', emulatorsStart)),
    startSqsEmulator({ port: 0, logger: false }),
    given ? Promise.resolve(given) : synthesized(),
  ]);
  if (dynamodbStarted.status === 'fulfilled') startup.onStop(() => dynamodbStarted.value.stop());
  if (fauxqsStarted.status === 'fulfilled') startup.onStop(() => fauxqsStarted.value.stop());
  for (const settled of [templateRead, dynamodbStarted, fauxqsStarted]) if (settled.status === 'rejected') throw settled.reason;
  const dynamodbLocal = (dynamodbStarted as PromiseFulfilledResult<Awaited<ReturnType<typeof startDynamoDbLocal>>>).value;
  const fauxqs = (fauxqsStarted as PromiseFulfilledResult<Awaited<ReturnType<typeof startSqsEmulator>>>).value;
  const { cdkOut, template } = (templateRead as PromiseFulfilledResult<{ cdkOut: string; template: CfnTemplate }>).value;
  return { cdkOut, template, dynamodb: dynamodbLocal.endpoint, sqs: `http://127.0.0.1:${fauxqs.port}` };
}

/** The template's tables (with their streams) and queues, created in the emulators and registered as references. */
async function createTablesAndQueues(
  template: CfnTemplate,
  references: LocalReferences,
  clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
  timeScale: number,
): Promise<{ queues: LocalQueue[]; streamArns: Set<string> }> {
  const tableNames = await createTablesFromTemplate(clients.dynamodb, template, (logicalId) => {
    const name = template.Resources[logicalId]?.Properties?.TableName;
    return typeof name === 'string' ? name : logicalId;
  });
  const streamArns = new Set<string>();
  for (const [logicalId, tableName] of Object.entries(tableNames)) {
    const { Table } = await clients.dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
    if (Table!.LatestStreamArn) streamArns.add(Table!.LatestStreamArn);
    references.set(logicalId, tableName, {
      Arn: Table!.TableArn!,
      ...(Table!.LatestStreamArn ? { StreamArn: Table!.LatestStreamArn } : {}),
    });
  }
  const queues = await createQueuesFromTemplate(
    clients.sqs,
    template,
    references,
    timeScale === 1 ? {} : { visibilityTimeoutScale: timeScale, minimumVisibilitySeconds: consumerTimeouts(template) },
  );
  return { queues: Object.values(queues), streamArns };
}

/** What the other resources are called locally, before anything resolves a reference to them. */
function registerLocalNames(template: CfnTemplate, references: LocalReferences, identity: LocalIdentity): void {
  registerFunctionReferences(template, references, identity);
  registerStateMachineReferences(template, references, identity);
  registerApiGatewayReferences(template, references);
  registerScheduleReferences(template, references, identity);
  registerEventSourceMappingReferences(template, references);
  for (const [logicalId] of resourcesOfType(template, 'AWS::KMS::Key')) {
    const keyId = localKeyId(logicalId);
    references.set(logicalId, keyId, { Arn: localKeyArn(identity, keyId), KeyId: keyId });
  }
}

/** The state machines, behind the local Step Functions API the functions call. */
async function startStepFunctions(
  template: CfnTemplate,
  references: LocalReferences,
  queues: readonly LocalQueue[],
  sqs: SQSClient,
  invokeLambda: (functionLogicalId: string, payload: unknown, stateMachineLogicalId: string) => Promise<unknown>,
  timeScale: number,
  startup: Startup,
  sqsClientFor?: (stateMachineLogicalId: string) => SQSClient,
): Promise<{ stepFunctions: LocalStepFunctions; endpoint: string }> {
  const machines = loadStateMachines({
    template,
    invokeLambda,
    sqsClient: sqs,
    sqsClientFor,
    queueUrls: Object.fromEntries(queues.map((queue) => [queue.logicalId, queue.url])),
    ref: (logicalId) => references.ref(logicalId),
    getAtt: (logicalId, attribute) => references.getAtt(logicalId, attribute),
    identity: references.identity,
    ...(timeScale === 1 ? {} : { retryIntervalOverrides: Math.round(1000 * timeScale) }),
  });
  const stepFunctions = new LocalStepFunctions(machines);
  const server = await startStepFunctionsServer(stepFunctions);
  startup.onStop(() => server.close());
  return { stepFunctions, endpoint: server.endpoint };
}

/** The REST API on the local front, when the template has one. */
async function startRestApi(
  template: CfnTemplate,
  references: LocalReferences,
  lambdas: LocalLambdaRuntime,
  options: LocalStackOptions,
  startup: Startup,
  iam: LocalIam | undefined,
): Promise<LocalApiGateway | undefined> {
  const restApis = resourcesOfType(template, 'AWS::ApiGateway::RestApi');
  if (restApis.length === 0) return undefined;
  const apiId = localApiId(restApis[0]![0]);
  const { region, accountId } = references.identity;
  const api = await startApiGateway({
    template,
    resolve: references.resolve,
    invoke: async (functionArn, event) => {
      const fn = lambdas.find(functionArn);
      if (iam && fn) {
        // API Gateway invokes the function as apigateway.amazonaws.com, from the method's execute-api ARN: without
        // an AWS::Lambda::Permission allowing it, AWS answers 500 ("Invalid permissions on Lambda function").
        const { httpMethod, resource, requestContext } = event as { httpMethod: string; resource: string; requestContext: { stage: string } };
        const sourceArn = `arn:aws:execute-api:${region}:${accountId}:${apiId}/${requestContext.stage}/${httpMethod}${resource}`;
        if (!(await iam.serviceMayInvoke(fn.logicalId, 'apigateway.amazonaws.com', sourceArn))) {
          options.log?.(`Execution failed due to configuration error: Invalid permissions on Lambda function ${fn.functionName} (no AWS::Lambda::Permission lets apigateway.amazonaws.com invoke it from ${sourceArn})`);
          throw new GatewayError('API_CONFIGURATION_ERROR');
        }
      }
      return lambdas.invoke(functionArn, event);
    },
    apiId,
    region,
    accountId,
    port: options.port ?? 0,
    host: options.host,
    apiKeyValues: options.apiKeyValues,
    malformedRequestBody: options.malformedRequestBody,
    log: options.log,
  });
  startup.onStop(() => api.close());
  return api;
}

/** The SDK clients the runner itself uses against the emulators. */
function emulatorClients(endpoints: { dynamodb: string; sqs: string }, identity: LocalIdentity, startup: Startup) {
  const clientConfig = { region: identity.region, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } };
  const clients = {
    dynamodb: new DynamoDBClient({ ...clientConfig, endpoint: endpoints.dynamodb }),
    sqs: new SQSClient({ ...clientConfig, endpoint: endpoints.sqs }),
    streams: new DynamoDBStreamsClient({ ...clientConfig, endpoint: endpoints.dynamodb }),
  };
  startup.onStop(() => (clients.dynamodb.destroy(), clients.sqs.destroy(), clients.streams.destroy()));
  return clients;
}

/** Every function, in worker threads from its bundle, with the template's environment plus the local endpoints. */
function startFunctions(
  template: CfnTemplate,
  cdkOut: string,
  references: LocalReferences,
  endpoints: LocalEndpoints,
  options: LocalStackOptions,
  startup: Startup,
  iam: LocalIam | undefined,
  credentialsPerEnvironment = false,
): LocalLambdaRuntime {
  const { region } = references.identity;
  const functions = localFunctions(template, {
    cdkOut,
    references,
    runnerEnvironment: {
      AWS_REGION: region,
      AWS_DEFAULT_REGION: region,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamodb,
      AWS_ENDPOINT_URL_SQS: endpoints.sqs,
      AWS_ENDPOINT_URL_SFN: endpoints.stepFunctions,
      AWS_ENDPOINT_URL_KMS: endpoints.kms,
    },
    functionEnvironment: options.functionEnvironment,
    maxConcurrencyPerFunction: options.maxConcurrencyPerFunction,
  }).map((fn) => {
    // Lambda gives each function its execution role's temporary credentials: here, an access key id that the
    // authorizing proxies map back to the role (and the function's name as the session).
    const role = iam?.roleOf(fn.logicalId);
    if (!iam || !role) return fn;
    const { accessKeyId, secretAccessKey } = iam.credentialsFor(role.logicalId, fn.functionName);
    return { ...fn, environment: { ...fn.environment, AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } };
  });
  // With faults, each execution environment gets credentials of its own, so a fault can kill the one that called.
  const environmentFor = iam && credentialsPerEnvironment
    ? (fn: LocalFunction, environmentId: string): Record<string, string> => {
        const role = iam.roleOf(fn.logicalId);
        if (!role) return {};
        const { accessKeyId, secretAccessKey } = iam.credentialsFor(role.logicalId, fn.functionName, environmentId);
        return { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey };
      }
    : undefined;
  const runtime = new LocalLambdaRuntime(functions, { logSink: options.functionLogs, environmentFor, maxEnvironmentsPerFunction: options.maxEnvironmentsPerFunction });
  startup.onStop(() => runtime.stop());
  return runtime;
}

/** The template's schedules, firing their functions on their (scaled) rate. */
function startStackSchedules(
  template: CfnTemplate,
  references: LocalReferences,
  lambdas: LocalLambdaRuntime,
  timeScale: number,
  log: (line: string) => void,
  startup: Startup,
  iam: LocalIam | undefined,
): void {
  const ruleIds = new Set(resourcesOfType(template, 'AWS::Events::Rule').map(([logicalId]) => logicalId));
  const schedules = startSchedules({
    template,
    resolve: references.resolve,
    invoke: async (functionArn, event) => {
      const fn = lambdas.find(functionArn);
      // An EventBridge rule invokes its target as events.amazonaws.com, from the rule's ARN; it needs the function's
      // permission. (An EventBridge Scheduler schedule assumes its own RoleArn instead: not checked here.)
      const ruleArn = String((event as { resources?: string[] } | undefined)?.resources?.[0] ?? '');
      const ruleId = [...ruleIds].find((id) => String(references.getAtt(id, 'Arn')) === ruleArn);
      if (iam && fn && ruleId && !(await iam.serviceMayInvoke(fn.logicalId, 'events.amazonaws.com', ruleArn))) {
        throw new Error(`AccessDeniedException: events.amazonaws.com is not authorized to perform lambda:InvokeFunction on ${fn.arn} from ${ruleArn} (no AWS::Lambda::Permission allows it)`);
      }
      return lambdas.invoke(functionArn, event, 'Event'); // EventBridge invokes its target asynchronously
    },
    isFunction: (arn) => lambdas.find(arn) !== undefined,
    region: references.identity.region,
    accountId: references.identity.accountId,
    timeScale,
    onError: (scheduleId, error) => log(`schedule ${scheduleId}: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`),
  });
  startup.onStop(() => schedules.stop());
}

/** The outputs, as `cdk deploy --outputs-file` writes them, plus what the caller adds and what only a local stack has. */
function stackOutputs(template: CfnTemplate, references: LocalReferences, running: RunningStack, api: LocalApiGateway | undefined, options: LocalStackOptions): Record<string, StackOutputs> {
  const outputs: StackOutputs = {
    ...templateOutputs(template, references.resolve, references.identity, api),
    ...options.extraOutputs?.(running),
    LocalDynamoDbEndpoint: running.endpoints.dynamodb,
    LocalSqsEndpoint: running.endpoints.sqs,
    LocalStepFunctionsEndpoint: running.endpoints.stepFunctions,
    LocalKmsEndpoint: running.endpoints.kms,
    ...(running.endpoints.lambda ? { LocalLambdaEndpoint: running.endpoints.lambda } : {}),
    LocalRegion: references.identity.region,
  };
  return { [running.stackName]: outputs };
}

const defaultReadyMessage = (stack: Omit<LocalStack, 'readyMessage'>) =>
  `${stack.stackName} is ready${stack.apiUrl ? ` at ${stack.apiUrl}` : ''}${stack.outputsFile ? ` — outputs: ${stack.outputsFile}` : ''}`;

/** Starts the whole stack locally. Resolves once the API answers; `stop()` ends everything it started. */
export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const { stackName } = options;
  const identity = LOCAL_IDENTITY;
  const timeScale = options.timeScale ?? 1;
  const log = options.log ?? (() => undefined);
  const startup = new Startup(log);

  try {
    const { cdkOut, template, ...emulators } = await templateAndEmulators(options, startup);
    const references = new LocalReferences(template, identity, stackName);
    const { dynamodb, sqs, streams } = emulatorClients(emulators, identity, startup);

    const resourcesStart = Date.now();
    const { queues, streamArns } = await createTablesAndQueues(template, references, { dynamodb, sqs }, timeScale);
    startup.mark('tables+queues', resourcesStart);
    registerLocalNames(template, references, identity);

    // IAM: the roles' policies resolved to local ARNs, and the emulators behind authorizing proxies.
    const iam = options.iam === false ? undefined : new LocalIam(template, references, stackName);
    if (options.faults && !iam) throw new Error('Fault injection needs IAM enforced (the authorizing proxies inject the faults): drop iam: false');
    let lambdas: LocalLambdaRuntime | undefined;
    const faults = options.faults && new FaultInjector(options.faults, (environment) => lambdas?.kill(environment) ?? false);
    if (iam) {
      iam.addQueues(queues);
      startup.onStop(() => iam.close());
      if (options.accessReportFile) startup.onStop(() => iam.writeReport(resolve(options.accessReportFile!)));
    }
    // Every write of a function passes the DynamoDB proxy: it wakes the stream pollers, which otherwise idle.
    let wakeStreams = () => undefined as void;
    const onDynamoDbAnswer = (operation: string) => {
      if (TABLE_WRITES.has(operation)) wakeStreams();
    };
    const proxied = iam ? { dynamodb: await iam.proxy(emulators.dynamodb, { onAnswered: onDynamoDbAnswer, faults }), sqs: await iam.proxy(emulators.sqs, { faults }) } : emulators;
    const roleClients = new Map<string, { sqs: SQSClient; streams: DynamoDBStreamsClient }>();
    /** Clients signed as `roleLogicalId` assumed by `session`, through the proxies. */
    const clientsOf = (roleLogicalId: string, session: string) => {
      const key = `${roleLogicalId}/${session}`;
      let clients = roleClients.get(key);
      if (!clients) {
        const config = { region: identity.region, credentials: iam!.credentialsFor(roleLogicalId, session) };
        clients = { sqs: new SQSClient({ ...config, endpoint: proxied.sqs }), streams: new DynamoDBStreamsClient({ ...config, endpoint: proxied.dynamodb }) };
        roleClients.set(key, clients);
        const created = clients;
        startup.onStop(() => (created.sqs.destroy(), created.streams.destroy()));
      }
      return clients;
    };

    // The state machines and the functions call each other: the machines invoke functions, the functions start executions.
    const invokeLambda = async (functionLogicalId: string, payload: unknown, stateMachineLogicalId: string) => {
      const role = iam?.roleOf(stateMachineLogicalId);
      const fn = lambdas!.find(functionLogicalId);
      if (iam && role && fn) {
        // Step Functions invokes a Task's function with the state machine's role.
        const denial = await iam.authorize({ role, sessionName: stateMachineLogicalId }, { action: 'lambda:InvokeFunction', resource: fn.arn });
        if (denial) {
          log(`state machine ${stateMachineLogicalId}: AccessDeniedException: ${denial.message}`);
          throw new LambdaFunctionError({ errorType: 'Lambda.AWSLambdaException', errorMessage: `${denial.message} (Service: Lambda, Status Code: 403, Error Code: AccessDeniedException)`, trace: [] });
        }
      }
      return lambdas!.invoke(functionLogicalId, payload);
    };
    const machineSqs = iam
      ? (stateMachineLogicalId: string) => {
          const role = iam.roleOf(stateMachineLogicalId);
          return role ? clientsOf(role.logicalId, stateMachineLogicalId).sqs : sqs;
        }
      : undefined;
    const { stepFunctions, endpoint: stepFunctionsEndpoint } = await startStepFunctions(template, references, queues, sqs, invokeLambda, timeScale, startup, machineSqs);
    const kms = await startLocalKms({ keys: resourcesOfType(template, 'AWS::KMS::Key').map(([logicalId]) => ({ logicalId })), identity });
    startup.onStop(() => kms.close());
    const endpoints: LocalEndpoints = { ...emulators, stepFunctions: stepFunctionsEndpoint, kms: kms.endpoint };
    const functionEndpoints: LocalEndpoints = iam
      ? { ...proxied, stepFunctions: await iam.proxy(stepFunctionsEndpoint, { faults }), kms: await iam.proxy(kms.endpoint, { faults }) }
      : endpoints;

    const functionsStart = Date.now();
    lambdas = startFunctions(template, cdkOut, references, functionEndpoints, options, startup, iam, faults !== undefined);
    // Runs before the functions stop (stoppers run in reverse): no execution is left calling them.
    startup.onStop(() => stepFunctions.abortAll());
    const warming = options.warmFunctions ? lambdas.warm() : Promise.resolve();
    const mappings = await startEventSourceMappings({
      template,
      references,
      lambdas,
      queues,
      streamArns,
      sqs,
      streams,
      log,
      ...(iam
        ? {
            // Lambda polls with the function's execution role.
            clientsFor: (functionLogicalId: string) => {
              const role = iam.roleOf(functionLogicalId);
              return role ? clientsOf(role.logicalId, lambdas!.find(functionLogicalId)!.functionName) : { sqs, streams };
            },
            checkPermissions: (mappingId: string, functionLogicalId: string, source: { kind: 'sqs' | 'stream'; arn: string }, destinationArn?: string) =>
              iam.checkEventSourceMapping(mappingId, functionLogicalId, source, destinationArn),
            // Woken by every write through the proxy; a write from elsewhere (a test's own client, TTL) waits at most the idle interval.
            streamPolling: { pollIntervalMs: STREAM_POLL_BUSY_MS, idlePollIntervalMs: STREAM_POLL_IDLE_MS, quietPollIntervalMs: STREAM_POLL_QUIET_MS },
          }
        : {}),
    });
    startup.onStop(() => mappings.stop());
    wakeStreams = () => mappings.wakeStreams();
    const api = await startRestApi(template, references, lambdas, options, startup, iam);
    startStackSchedules(template, references, lambdas, timeScale, log, startup, iam);
    // The Lambda Invoke API, for operators' tools (not the functions: none of them invokes another).
    const runtime = lambdas;
    const lambdaApi = await startLambdaApiServer(() => runtime);
    startup.onStop(() => lambdaApi.close());
    await warming;
    startup.mark('functions', functionsStart);

    const running: RunningStack = { stackName, apiUrl: api?.url ?? '', apiKeys: apiKeysWithOutputNames(template, api?.apiKeys ?? []), endpoints: { ...endpoints, lambda: lambdaApi.endpoint } };
    const outputs = stackOutputs(template, references, running, api, options);
    const outputsFile = options.outputsFile === undefined ? undefined : resolve(options.outputsFile);
    if (outputsFile) writeOutputsFile(outputsFile, outputs);
    startup.finished();

    const stack = { ...running, outputs, outputsFile, timings: startup.timings, stepFunctions, lambdas, iam, faults, stop: startup.stop };
    return { ...stack, readyMessage: (options.readyMessage ?? defaultReadyMessage)(stack) };
  } catch (error) {
    await startup.stop();
    throw error;
  }
}
