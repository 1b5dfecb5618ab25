/**
 * The IAM mutation check (`npm run iam:mutations`): for each data-plane action granted to a role on the payment
 * and refund paths, remove it from the synthesized template, run the payment and refund flows on the mutated
 * assembly on the local twin (IAM enforced), and require that the flow breaks with an AccessDenied naming that
 * role and action (or that the runner refuses to start, naming them, as AWS refuses an event source mapping).
 *
 *   npm run iam:mutations                      every mutation
 *   npm run iam:mutations -- --sample 3 --seed 7   a seeded sample
 *   PAYFLOW_CDK_OUT=<dir>                      use this assembly instead of synthesizing
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DeleteTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { PaymentsClient, type Payment } from '../../client/payments-client.ts';
import { apiKeyName, PAYFLOW_LOCAL, PAYFLOW_STACK_NAME } from '../../bin/payflow-local.ts';
import { startDynamoDbLocal } from '../local-runner/dynamodb/dynamodb-local.ts';
import { startLocalStack } from '../local-runner/runner.ts';
import { synthesize } from '../local-runner/synthesize.ts';
import { readStackTemplate, type CfnTemplate } from '../local-runner/template.ts';

/** One action removed from one statement of one role's policy. */
export interface Mutation {
  role: string;
  policy: string;
  statement: number;
  action: string;
}

export interface MutationResult extends Mutation {
  detected: boolean;
  /** What broke (a step of the flow, or the start), and the denial that named the role and action. */
  evidence: string;
}

/** Actions on data the twin emulates (CloudWatch Logs and X-Ray are not emulated). */
const DATA_PLANE = /^(dynamodb|sqs|states|lambda):/;
/**
 * Roles not on the payment and refund paths: reconciliation (runs on a schedule for stuck items), the relay's
 * failure keeper (only when a batch fails for good), API Gateway's CloudWatch role, and the read-only list
 * functions (the flows create and refund; the acceptance suite, which iam:report runs, reads the lists).
 */
const OFF_PATH = /^(Reconciliation|OutboxFailureKeeper|ApiRestApiCloudWatch|ApiListPayments|ApiListRefunds|ApiGetRefund)/;

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every (role, action) a mutation can remove: the data-plane actions of the Allow statements of roles on the path. */
export function listMutations(template: CfnTemplate): Mutation[] {
  const mutations: Mutation[] = [];
  for (const [policyId, resource] of Object.entries(template.Resources)) {
    if (resource.Type !== 'AWS::IAM::Policy') continue;
    const props = resource.Properties ?? {};
    const roles = asList(props.Roles as Array<{ Ref: string }>).map((ref) => ref.Ref);
    for (const role of roles.filter((id) => !OFF_PATH.test(id))) {
      asList(props.PolicyDocument.Statement as Array<{ Effect: string; Action: string | string[] }>).forEach((statement, index) => {
        if (statement.Effect !== 'Allow') return;
        for (const action of asList(statement.Action)) if (DATA_PLANE.test(action)) mutations.push({ role, policy: policyId, statement: index, action });
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

/** A cloud assembly that is `cdkOut` with the stack's template replaced (assets are links to the original's). */
export function mutatedAssembly(cdkOut: string, template: CfnTemplate): string {
  const dir = mkdtempSync(join(tmpdir(), 'payflow-iam-mutant-'));
  const templateFile = `${PAYFLOW_STACK_NAME}.template.json`;
  for (const entry of readdirSync(cdkOut)) if (entry !== templateFile) symlinkSync(join(cdkOut, entry), join(dir, entry));
  writeFileSync(join(dir, templateFile), JSON.stringify(template));
  return dir;
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Gives up early on a flow that is already known to be broken (an AccessDenied was answered, and a few seconds passed). */
export type GiveUp = () => string | undefined;

async function waitForStatus(client: PaymentsClient, id: string, statuses: string[], deadlineMs: number, giveUp: GiveUp): Promise<Payment> {
  const until = Date.now() + deadlineMs;
  let last: Payment | undefined;
  while (Date.now() < until) {
    const reason = giveUp();
    if (reason) throw new Error(`payment ${id} is ${last?.status ?? 'unknown'}, not ${statuses.join('|')}: ${reason}`);
    last = await client.getPayment(id);
    if (statuses.includes(last.status)) return last;
    await sleep(200);
  }
  throw new Error(`payment ${id} is ${last?.status ?? 'unknown'}, not ${statuses.join('|')}, after ${deadlineMs} ms`);
}

/** The payment and refund flows: a captured payment refunded in full, a declined one, one whose capture fails (void), a flaky and a timed-out processor. */
export async function runFlows(client: PaymentsClient, deadlineMs = 45_000, giveUp: GiveUp = () => undefined): Promise<void> {
  const paid = await client.createPayment({ amount: 1250, currency: 'EUR', source: 'tok_success' }, { idempotencyKey: randomUUID() });
  const declined = await client.createPayment({ amount: 300, currency: 'EUR', source: 'tok_decline' }, { idempotencyKey: randomUUID() });
  const voided = await client.createPayment({ amount: 400, currency: 'EUR', source: 'tok_capture_fail' }, { idempotencyKey: randomUUID() });
  // Transient processor errors (its attempt counter) and a timeout after the work (the retry replays the record).
  const flaky = await client.createPayment({ amount: 500, currency: 'EUR', source: 'tok_flaky' }, { idempotencyKey: randomUUID() });
  const timedOut = await client.createPayment({ amount: 600, currency: 'EUR', source: 'tok_timeout' }, { idempotencyKey: randomUUID() });
  await waitForStatus(client, paid.id, ['succeeded'], deadlineMs, giveUp);
  await client.createRefund(paid.id, { amount: 1250 }, { idempotencyKey: randomUUID() });
  await waitForStatus(client, paid.id, ['refunded'], deadlineMs, giveUp);
  await waitForStatus(client, declined.id, ['failed'], deadlineMs, giveUp);
  await waitForStatus(client, voided.id, ['failed'], deadlineMs, giveUp);
  await waitForStatus(client, flaky.id, ['succeeded'], deadlineMs, giveUp);
  await waitForStatus(client, timedOut.id, ['succeeded'], deadlineMs, giveUp);
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

/** Runs the flows on `cdkOut` (IAM enforced); resolves with what broke, or undefined when everything passed. */
export async function runOnAssembly(cdkOut: string, dynamodbEndpoint: string, expect?: Mutation): Promise<{ broke?: string; denial?: string }> {
  await dropTables(dynamodbEndpoint);
  let stack: Awaited<ReturnType<typeof startLocalStack>> | undefined;
  try {
    stack = await startLocalStack({ ...PAYFLOW_LOCAL, cdkOut, dynamodbEndpoint, port: 0, timeScale: 0.02 });
  } catch (error) {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const names = expect && message.includes(expect.action) && message.includes(expect.role);
    return { broke: `start refused: ${message}`, ...(names ? { denial: message } : {}) };
  }
  try {
    const key = stack.apiKeys.find((candidate) => apiKeyName(candidate) === 'MerchantA') ?? stack.apiKeys[0]!;
    const client = new PaymentsClient({ baseUrl: stack.apiUrl, apiKey: key.value, retry: { maxRetries: 2 } });
    let broke: string | undefined;
    // A denial is final (IAM does not change during the run): 5 s after the first one, the flow is not going to recover.
    const giveUp: GiveUp = () => {
      const first = stack!.iam?.authorizer.denials[0];
      return first && Date.now() - Date.parse(first.at) > 5_000 ? `stuck 5 s after an AccessDenied` : undefined;
    };
    try {
      await runFlows(client, 45_000, giveUp);
    } catch (error) {
      broke = error instanceof Error ? error.message : String(error);
    }
    const denial = stack.iam?.authorizer.denials.find((candidate) => !expect || (candidate.roleLogicalId === expect.role && candidate.action === expect.action));
    return { broke, denial: denial?.message };
  } finally {
    await stack.stop();
  }
}

/** Applies each mutation in turn and reports whether the flows caught it. */
export async function checkMutations(cdkOut: string, mutations: readonly Mutation[], onResult?: (result: MutationResult) => void): Promise<MutationResult[]> {
  const template = readStackTemplate(cdkOut, PAYFLOW_STACK_NAME);
  const dynamodb = await startDynamoDbLocal();
  const results: MutationResult[] = [];
  try {
    for (const mutation of mutations) {
      const dir = mutatedAssembly(cdkOut, mutatedTemplate(template, mutation));
      try {
        const { broke, denial } = await runOnAssembly(dir, dynamodb.endpoint, mutation);
        const result = { ...mutation, detected: Boolean(broke && denial), evidence: broke ? `${broke}${denial ? ` — ${denial}` : ' — no AccessDenied naming it'}` : 'the flows passed without it' };
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
    const chosen = count ? sample(all, Number(count), Number(option('seed') ?? 1)) : all;
    process.stderr.write(`${chosen.length} mutations (of ${all.length})\n`);
    const started = Date.now();
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

