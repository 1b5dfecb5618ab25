/**
 * Once per acceptance run: finds the stack under test (PAYFLOW_TARGET) and hands the tests what a
 * client of a deployed stack has — the outputs file, the API URL, the merchants' API key values and
 * where the AWS APIs are.
 *
 * - local (default): starts the local runner (tools/local-runner) in-process on the synthesized app, with
 *   Payflow's options (bin/payflow-local.ts),
 *   with time sped up (PAYFLOW_TIME_SCALE, default 0.02) so retries and redrives take seconds, and
 *   stops it afterwards. PAYFLOW_CDK_OUT reuses an existing cloud assembly instead of synthesizing.
 * - localstack: a stack deployed with cdklocal (test/acceptance/localstack.sh); outputs from
 *   PAYFLOW_OUTPUTS_FILE (default .payflow/outputs.localstack.json); API on
 *   http://localhost:4566/_aws/execute-api/<apiId>/<stage>/ unless PAYFLOW_API_URL says otherwise.
 * - aws: a stack deployed with `cdk deploy --outputs-file`; PAYFLOW_OUTPUTS_FILE is required; the
 *   credentials and region are the SDK's usual ones.
 */
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import type { AcceptanceContext, Target } from './target.ts';

const LOCALSTACK_ENDPOINT = process.env.LOCALSTACK_ENDPOINT ?? 'http://localhost:4566';

function readOutputs(file: string): Record<string, string> {
  if (!existsSync(file)) throw new Error(`No outputs file at ${file} (set PAYFLOW_OUTPUTS_FILE)`);
  const all = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, string>>;
  const stackName = process.env.PAYFLOW_STACK_NAME ?? 'Payflow';
  const outputs = all[stackName] ?? Object.values(all)[0];
  if (!outputs) throw new Error(`${file} has no outputs of stack ${stackName}`);
  return outputs;
}

/** Output name suffix (ApiKeyIdMerchantA -> MerchantA) -> key id. */
function apiKeyIds(outputs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(outputs)
      .filter(([name]) => name.startsWith('ApiKeyId'))
      .map(([name, id]) => [name.slice('ApiKeyId'.length), id]),
  );
}

/** What `aws apigateway get-api-key --include-value` gives, for each merchant's key. */
async function fetchApiKeyValues(ids: Record<string, string>, endpoint?: string): Promise<Record<string, string>> {
  const { APIGatewayClient, GetApiKeyCommand } = await import('@aws-sdk/client-api-gateway');
  const client = new APIGatewayClient(endpoint ? { endpoint, region: process.env.AWS_REGION ?? 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } } : {});
  try {
    const values: Record<string, string> = {};
    for (const [suffix, id] of Object.entries(ids)) {
      const key = await client.send(new GetApiKeyCommand({ apiKey: id, includeValue: true }));
      if (!key.value) throw new Error(`API key ${id} has no value`);
      values[suffix] = key.value;
    }
    return values;
  } finally {
    client.destroy();
  }
}

export default async function setup(project: TestProject) {
  const target = (process.env.PAYFLOW_TARGET ?? 'local') as Target;
  let context: AcceptanceContext;
  let teardown: () => Promise<void> = async () => undefined;

  if (target === 'local') {
    const { startLocalStack } = await import('../../tools/local-runner/runner.ts');
    const { PAYFLOW_LOCAL, payflowContext } = await import('../../bin/payflow-local.ts');
    const workDir = mkdtempSync(join(tmpdir(), 'payflow-acceptance-'));
    mkdirSync(resolve('.payflow'), { recursive: true });
    const logFile = resolve('.payflow/acceptance-local.log');
    const log = createWriteStream(logFile, { flags: 'w' });
    const stack = await startLocalStack({
      ...PAYFLOW_LOCAL,
      cdkOut: process.env.PAYFLOW_CDK_OUT,
      synthOutdir: join(workDir, 'cdk.out'),
      port: 0,
      outputsFile: join(workDir, 'outputs.local.json'),
      timeScale: Number(process.env.PAYFLOW_TIME_SCALE ?? 0.02),
      // Webhook retries: waits of at most 1 s and a window of 12 s instead of 3 days, so a receiver that never recovers
      // reaches the webhook DLQ within a test, and one that fails 3 times still recovers on a loaded machine.
      context: payflowContext(Number(process.env.PAYFLOW_TIME_SCALE ?? 0.02), { retryBaseSeconds: 0.5, retryCapSeconds: 1, retryWindowSeconds: 12 }),
      functionLogs: (functionName, line) => log.write(`[${functionName}] ${line}\n`),
      // PAYFLOW_ACCESS_REPORT: where the runner writes, on stop, what each role was granted and used (npm run iam:report).
      ...(process.env.PAYFLOW_ACCESS_REPORT ? { accessReportFile: resolve(process.env.PAYFLOW_ACCESS_REPORT) } : {}),
      log: (line) => log.write(`[runner] ${line}\n`),
    });
    log.write(`[runner] ready in ${stack.timings.total} ms ${JSON.stringify(stack.timings)}\n`);
    const outputs = readOutputs(stack.outputsFile!);
    const values = Object.fromEntries(Object.keys(apiKeyIds(outputs)).map((suffix) => [suffix, outputs[`ApiKeyValue${suffix}`]!]));
    context = {
      target,
      outputs,
      apiUrl: outputs.ApiUrl!,
      apiKeys: keysOf(outputs, values),
      aws: { region: outputs.LocalRegion!, sqsEndpoint: outputs.LocalSqsEndpoint, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } },
      deadlines: { terminalMs: 30_000, dlqMs: 120_000 },
      functionLogFile: logFile,
    };
    teardown = async () => {
      await stack.stop();
      log.end();
      rmSync(workDir, { recursive: true, force: true });
    };
  } else if (target === 'localstack') {
    const outputs = readOutputs(resolve(process.env.PAYFLOW_OUTPUTS_FILE ?? '.payflow/outputs.localstack.json'));
    const apiId = /^https?:\/\/([a-z0-9]+)\.execute-api\./.exec(outputs.ApiUrl ?? '')?.[1];
    const stage = /\/([^/]+)\/?$/.exec(outputs.ApiUrl ?? '')?.[1] ?? 'v1';
    const apiUrl = process.env.PAYFLOW_API_URL ?? (apiId ? `${LOCALSTACK_ENDPOINT}/_aws/execute-api/${apiId}/${stage}/` : outputs.ApiUrl!);
    context = {
      target,
      outputs,
      apiUrl,
      apiKeys: keysOf(outputs, await fetchApiKeyValues(apiKeyIds(outputs), LOCALSTACK_ENDPOINT)),
      aws: { region: process.env.AWS_REGION ?? 'us-east-1', sqsEndpoint: LOCALSTACK_ENDPOINT, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
      deadlines: { terminalMs: 120_000, dlqMs: 600_000 },
    };
  } else if (target === 'aws') {
    if (!process.env.PAYFLOW_OUTPUTS_FILE) throw new Error('PAYFLOW_TARGET=aws needs PAYFLOW_OUTPUTS_FILE (the file of cdk deploy --outputs-file)');
    const outputs = readOutputs(resolve(process.env.PAYFLOW_OUTPUTS_FILE));
    context = {
      target,
      outputs,
      apiUrl: process.env.PAYFLOW_API_URL ?? outputs.ApiUrl!,
      apiKeys: keysOf(outputs, await fetchApiKeyValues(apiKeyIds(outputs))),
      aws: {},
      // The events queue's visibility timeout (60 s) times its maxReceiveCount (5) before a poison message is dead-lettered.
      deadlines: { terminalMs: 180_000, dlqMs: 900_000 },
    };
  } else {
    throw new Error(`Unknown PAYFLOW_TARGET ${String(target)}: local, localstack or aws`);
  }

  project.provide('acceptance', context);
  return teardown;
}

function keysOf(outputs: Record<string, string>, values: Record<string, string>): AcceptanceContext['apiKeys'] {
  return Object.fromEntries(Object.entries(apiKeyIds(outputs)).map(([suffix, id]) => [suffix, { id, value: values[suffix]! }]));
}

declare module 'vitest' {
  export interface ProvidedContext {
    acceptance: AcceptanceContext;
  }
}
