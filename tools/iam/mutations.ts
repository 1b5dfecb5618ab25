/**
 * The IAM mutation check (`npm run iam:mutations`): for each data-plane action granted to a role on the payment
 * and refund paths, remove it from the synthesized template, run the payment and refund flows on the mutated
 * assembly on the local twin (IAM enforced), and require that the flow breaks with an AccessDenied naming that
 * role and action (or that the runner refuses to start, naming them, as AWS refuses an event source mapping).
 *
 *   npm run iam:mutations                      every mutation
 *   npm run iam:mutations -- --sample 3 --seed 7   a seeded sample
 *   npm run iam:mutations -- --match 'RefundCapture|SagaRole.* sqs:'   those whose "role action" matches
 *   --no-flow-check                            skip running each flow unmutated first (it must pass, or a detection proves nothing)
 *   PAYFLOW_CDK_OUT=<dir>                      use this assembly instead of synthesizing
 */
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PaymentsClient } from '../../client/payments-client.ts';
import { apiKeyName, PAYFLOW_LOCAL, PAYFLOW_STACK_NAME } from '../../bin/payflow-local.ts';
import { startDynamoDbLocal } from '../local-runner/dynamodb/dynamodb-local.ts';
import { startLocalStack } from '../local-runner/runner.ts';
import { synthesize } from '../local-runner/synthesize.ts';
import { readStackTemplate, type CfnTemplate } from '../local-runner/template.ts';
import { flowFor, PAYMENT_AND_REFUND_FLOWS, SCENARIOS, type Flow, type GiveUp, type Trigger } from './flows.ts';

/** One action removed from one statement of one role's policy. */
export interface Mutation {
  role: string;
  policy: string;
  statement: number;
  action: string;
  /** The statement's `Resource`, as JSON. */
  resource?: string;
}

export interface MutationResult extends Mutation {
  detected: boolean;
  /** What broke (a step of the flow, or the start), and the denial that named the role and action. */
  evidence: string;
}

/** Actions on data the twin emulates (CloudWatch Logs and X-Ray are not emulated). */
const DATA_PLANE = /^(dynamodb|sqs|states|lambda):/;
/**
 * Roles not on the payment and refund paths: reconciliation (runs on a schedule for stuck items) and the daily
 * reconciliation (once a day), the relay's failure keeper (only when a batch fails for good), API Gateway's
 * CloudWatch role, the read-only list functions, and the webhooks (events, endpoints, their recorder and
 * dispatcher: the saga never waits for them). The acceptance suite, which `npm run iam:report` runs, uses them.
 */
const OFF_PATH = /^(Reconciliation|DailyReconciliation|OutboxFailureKeeper|ApiRestApiCloudWatch|ApiListPayments|ApiListRefunds|ApiGetRefund|Webhooks)/;

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every (role, action) a mutation can remove: the data-plane actions of the Allow statements of roles on the path. */
export function listMutations(template: CfnTemplate, { offPath = OFF_PATH }: { offPath?: RegExp } = {}): Mutation[] {
  const mutations: Mutation[] = [];
  for (const [policyId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const props = resource.Properties ?? {};
    const roles = asList(props.Roles as Array<{ Ref: string }>).map((ref) => ref.Ref);
    for (const role of roles.filter((id) => !offPath.test(id))) {
      asList(props.PolicyDocument.Statement as Array<{ Effect: string; Action: string | string[]; Resource?: unknown }>).forEach((statement, index) => {
        if (statement.Effect !== 'Allow') return;
        for (const action of asList(statement.Action)) if (DATA_PLANE.test(action)) mutations.push({ role, policy: policyId, statement: index, action, resource: JSON.stringify(statement.Resource ?? null) });
      });
    }
  }
  return mutations;
}

/** The template without `mutation.action` in that statement (the statement goes when it had no other action). */
export function mutatedTemplate(template: CfnTemplate, mutation: Mutation): CfnTemplate {
  const copy = structuredClone(template);
  const document = copy.Resources[mutation.policy]!.Properties!.PolicyDocument as { Statement: Array<{ Action: string | string[] }> };
  const statement = document.Statement[mutation.statement]!;
  const remaining = asList(statement.Action).filter((action) => action !== mutation.action);
  if (remaining.length === 0) document.Statement.splice(mutation.statement, 1);
  else statement.Action = remaining;
  return copy;
}

/** The template without the grants `triggers` name (each one found again after the previous removal moved statements). */
export function withoutTriggers(template: CfnTemplate, triggers: readonly Trigger[]): CfnTemplate {
  let result = template;
  for (const trigger of triggers) {
    const matching = (mutation: Mutation) => trigger.role.test(mutation.role) && mutation.action === trigger.action && (!trigger.resource || trigger.resource.test(mutation.resource ?? ''));
    const next = () => listMutations(result, { offPath: /^$/ }).find(matching);
    let found = next();
    if (!found) throw new Error(`No grant of ${trigger.action} to ${trigger.role} in the template: the flow's trigger is stale`);
    for (; found; found = next()) result = mutatedTemplate(result, found);
  }
  return result;
}

/** A cloud assembly that is `cdkOut` with the stack's template replaced (assets are links to the original's). */
export function mutatedAssembly(cdkOut: string, template: CfnTemplate): string {
  const dir = mkdtempSync(join(tmpdir(), 'payflow-iam-mutant-'));
  const templateFile = `${PAYFLOW_STACK_NAME}.template.json`;
  for (const entry of readdirSync(cdkOut)) if (entry !== templateFile) symlinkSync(join(cdkOut, entry), join(dir, entry));
  writeFileSync(join(dir, templateFile), JSON.stringify(template));
  return dir;
}

async function dropTables(endpoint: string): Promise<void> {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  try {
    const { TableNames = [] } = await client.send(new ListTablesCommand({}));
    for (const TableName of TableNames) await client.send(new DeleteTableCommand({ TableName }));
  } finally {
    client.destroy();
  }
}

/**
 * Runs `flow` on `cdkOut` (IAM enforced); resolves with what broke (nothing when the flow passed) and the denial
 * naming `expect`, the mutation under test. `accessReportFile`: where the runner writes what each role used.
 */
export async function runOnAssembly(cdkOut: string, dynamodbEndpoint: string, flow: Flow, expect?: Mutation, accessReportFile?: string): Promise<{ broke?: string; denial?: string }> {
  await dropTables(dynamodbEndpoint);
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    stack = await startLocalStack({ ...PAYFLOW_LOCAL, cdkOut, dynamodbEndpoint, port: 0, timeScale: 0.02, ...(accessReportFile ? { accessReportFile } : {}) });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const names = expect && message.includes(expect.action) && message.includes(expect.role);
    return { broke: `start refused: ${message}`, ...(names ? { denial: message } : {}) };
  }
  try {
    const key = stack.apiKeys.find((candidate) => apiKeyName(candidate) === 'MerchantA') ?? stack.apiKeys[0]!;
    const client = new PaymentsClient({ baseUrl: stack.apiUrl, apiKey: key.value, retry: { maxRetries: 2 } });
    const named = () => stack!.iam?.authorizer.denials.find((candidate) => expect && candidate.roleLogicalId === expect.role && candidate.action === expect.action);
    // A denial is final (IAM does not change during the run): 5 s after the one under test, the flow is not going to recover.
    const giveUp: GiveUp = () => {
      const denial = named();
      return denial && Date.now() - Date.parse(denial.at) > 5_000 ? `stuck 5 s after an AccessDenied` : undefined;
    };
    let broke: string | undefined;
    try {
      await flow.run({ client, stack, deadlineMs: 45_000, giveUp });
    } catch (error) {
      broke = error instanceof Error ? error.message : String(error);
    }
    return { broke, denial: named()?.message };
  } finally {
    await stack.stop();
  }
}

/** Applies each mutation in turn, with the triggers of the flow that reaches it, and reports whether that flow caught it. */
export async function checkMutations(cdkOut: string, mutations: readonly Mutation[], onResult?: (result: MutationResult) => void): Promise<MutationResult[]> {
  const template = readStackTemplate(cdkOut, PAYFLOW_STACK_NAME);
  const dynamodb = await startDynamoDbLocal();
  const results: MutationResult[] = [];
  try {
    for (const mutation of mutations) {
      const flow = flowFor(mutation);
      const dir = mutatedAssembly(cdkOut, withoutTriggers(mutatedTemplate(template, mutation), flow.triggers));
      try {
        const { broke, denial } = await runOnAssembly(dir, dynamodb.endpoint, flow, mutation);
        const result = { ...mutation, detected: Boolean(broke && denial), evidence: broke ? `${broke}${denial ? ` — ${denial}` : ' — no AccessDenied naming it'}` : `${flow.name} passed without it` };
        results.push(result);
        onResult?.(result);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  } finally {
    await dynamodb.stop();
  }
  return results;
}

/**
 * Runs every flow with only its triggers removed: each must pass, or a mutation it "detects" proves nothing.
 * `accessReportDir`: each run's access report is written there (`<index>.json`).
 */
export async function checkFlows(cdkOut: string, accessReportDir?: string): Promise<Array<{ flow: string; broke?: string }>> {
  const template = readStackTemplate(cdkOut, PAYFLOW_STACK_NAME);
  const dynamodb = await startDynamoDbLocal();
  try {
    const outcomes: Array<{ flow: string; broke?: string }> = [];
    for (const [index, flow] of [PAYMENT_AND_REFUND_FLOWS, ...SCENARIOS].entries()) {
      const dir = mutatedAssembly(cdkOut, withoutTriggers(template, flow.triggers));
      try {
        const { broke } = await runOnAssembly(dir, dynamodb.endpoint, flow, undefined, accessReportDir && join(accessReportDir, `${index}.json`));
        outcomes.push({ flow: flow.name, ...(broke ? { broke } : {}) });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    return outcomes;
  } finally {
    await dynamodb.stop();
  }
}

/** A seeded sample (mulberry32), so that a test checks the same few mutations every run. */
export function sample<T>(items: readonly T[], count: number, seed: number): T[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pool = [...items];
  const picked: T[] = [];
  while (picked.length < count && pool.length > 0) picked.push(pool.splice(Math.floor(random() * pool.length), 1)[0]!);
  return picked;
}

export function formatTable(results: readonly MutationResult[]): string {
  const rows = results.map((result) => [result.role, result.action, result.detected ? 'detected' : 'NOT DETECTED']);
  const widths = [0, 1, 2].map((column) => Math.max(['role', 'action', 'result'][column]!.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, index) => cell.padEnd(widths[index]!)).join(' | ')} |`;
  return [line(['role', 'action', 'result']), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const index = args.indexOf(`--${name}`);
    return index >= 0 ? args[index + 1] : undefined;
  };
  let cdkOut = process.env.PAYFLOW_CDK_OUT && resolve(process.env.PAYFLOW_CDK_OUT);
  let temporary: string | undefined;
  if (!cdkOut) {
    temporary = mkdtempSync(join(tmpdir(), 'payflow-iam-cdk.out-'));
    process.stderr.write('synthesizing ...\n');
    await synthesize({ app: PAYFLOW_LOCAL.app!, projectDir: PAYFLOW_LOCAL.projectDir, outdir: temporary });
    cdkOut = temporary;
  }
  try {
    const all = listMutations(readStackTemplate(cdkOut, PAYFLOW_STACK_NAME));
    const count = option('sample');
    const match = option('match');
    const matching = match ? all.filter((mutation) => new RegExp(match).test(`${mutation.role} ${mutation.action}`)) : all;
    const chosen = count ? sample(matching, Number(count), Number(option('seed') ?? 1)) : matching;
    const started = Date.now();
    const flowCheck = !args.includes('--no-flow-check');
    if (flowCheck) process.stderr.write('each flow with only its triggers removed ...\n');
    const baselines = flowCheck ? await checkFlows(cdkOut) : [];
    for (const { flow, broke } of baselines) process.stderr.write(`${broke ? 'FAILED' : 'passed'}  ${flow}${broke ? `: ${broke}` : ''}\n`);
    if (baselines.some(({ broke }) => broke)) {
      process.exitCode = 1;
      return;
    }
    process.stderr.write(`${chosen.length} mutations (of ${all.length})\n`);
    const report = (result: MutationResult) =>
      process.stderr.write(`${result.detected ? 'detected    ' : 'NOT DETECTED'} ${result.role} ${result.action}: ${result.evidence.slice(0, 300)}\n`);
    // --parallel N: N lanes, each with its own DynamoDB Local, over interleaved shares of the mutations.
    const lanes = Math.max(1, Number(option('parallel') ?? 1));
    const shares = Array.from({ length: lanes }, (_, lane) => chosen.filter((_, index) => index % lanes === lane));
    const laneResults = await Promise.all(shares.map((share) => checkMutations(cdkOut!, share, report)));
    const results = chosen.map((_, index) => laneResults[index % lanes]![Math.floor(index / lanes)]!);
    console.log(formatTable(results));
    console.log(`\n${results.filter((result) => result.detected).length}/${results.length} detected in ${Math.round((Date.now() - started) / 1000)} s`);
    if (results.some((result) => !result.detected)) process.exitCode = 1;
  } finally {
    if (temporary) rmSync(temporary, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();

