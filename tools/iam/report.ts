/**
 * `npm run iam:report`: what each role of the stack was granted, and what the twin saw it use. Runs, each on a twin
 * of its own with IAM enforced, the acceptance suite (skip with --no-acceptance), the reliability run
 * (tools/reliability/reliability.ts, every token, duplicate retries, concurrent refunds; skip with --no-reliability)
 * and the flows of tools/iam/flows.ts (the payment and refund flows; the compensation and failure scenarios, each with
 * the grant removed that pushes the saga onto its path), merges the access reports the runner writes, and prints
 * per role every granted data-plane action with the resources it was used on — or the reason, kept here and in the
 * construct, why a grant the runs never used is still needed — then one line per role: granted vs used. Exits 1
 * when a granted data-plane action is unused and unexplained. A run that fails still counts for what it used (said
 * on stderr and in the summary).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PAYFLOW_LOCAL } from '../../bin/payflow-local.ts';
import type { AccessReport } from '../local-runner/iam/local-iam.ts';
import { synthesize } from '../local-runner/synthesize.ts';
import { checkFlows } from './mutations.ts';

/**
 * Grants the runs do not use, and why each stays (role logical id prefix, action, resource substring).
 * Each is also explained where it is granted (lib/constructs/*).
 */
export const JUSTIFIED: ReadonlyArray<{ role: RegExp; action: string; resource?: RegExp; reason: string }> = [
  { role: /^Outbox(SagaStarter|FailureKeeper)Role/, action: 'sqs:ChangeMessageVisibility', reason: "granted by CDK's SqsEventSource (grantConsumeMessages) for the mapping; Lambda's poller may call it" },
  { role: /^Outbox(SagaStarter|FailureKeeper)Role/, action: 'sqs:GetQueueUrl', reason: "granted by CDK's SqsEventSource (grantConsumeMessages) for the mapping" },
  { role: /^OutboxRelayRole/, action: 'sqs:GetQueueAttributes', resource: /RelayFailureQueue/, reason: "granted by CDK's SqsDlq for the stream mapping's on-failure destination" },
  { role: /^OutboxRelayRole/, action: 'sqs:GetQueueUrl', resource: /RelayFailureQueue/, reason: "granted by CDK's SqsDlq for the stream mapping's on-failure destination" },
  { role: /^OutboxRelayRole/, action: 'sqs:SendMessage', resource: /RelayDeadLetterQueue/, reason: 'a record the relay cannot turn into an event is kept there (reliability run, not the happy paths)' },
  { role: /^Saga(Payment|Refund)SagaRole/, action: 'lambda:InvokeFunction', resource: /:\*$/, reason: 'CDK grants the qualified ARNs (versions) too; the state machines invoke $LATEST' },
  { role: /^Api(CreatePayment|CreateRefund)FunctionRole/, action: 'dynamodb:GetItem', resource: /Idempotency/, reason: "Powertools' persistence layer reads a record with GetItem when a conflict did not return it" },
  { role: /^Saga(PostLedger|MarkFailed)FunctionRole/, action: 'dynamodb:GetItem', resource: /PaymentsTable/, reason: 'a conditional update that finds the status already moved reads the item back to tell a repeat (no-op) from a conflict' },
  { role: /^SagaVoidAuthorizationFunctionRole/, action: 'dynamodb:GetItem', resource: /PaymentsTable/, reason: "reads the payment only when Authorize failed before it could (a Lambda service error), so that a settled payment is never voided; test/integration/saga/payment-saga.test.ts drives that path" },
  { role: /^ApiCreatePaymentFunctionRole/, action: 'dynamodb:GetItem', resource: /PaymentsTable/, reason: 'reads the existing payment when a conditional Put failed without returning it' },
  { role: /^ReconciliationReconcileRole/, action: '*', reason: 'reconciliation acts only on items stuck past the bound (15 minutes), which the runs do not leave; its calls (lookup and open-items Queries, BatchGetItem, its cursor Query and PutItem) are exercised (without IAM) by test/integration/outbox/reconcile.test.ts' },
  { role: /^OutboxFailureKeeperRole/, action: '*', reason: "runs only when a relay batch failed for good (the reliability run's faults)" },
  { role: /^Saga(Authorize|Capture|VoidAuthorization|RefundAtProcessor)FunctionRole/, action: 'dynamodb:UpdateItem', resource: /Processor/, reason: "the simulated processor's tok_flaky attempt counter, its refund transaction, and a void marking the capture it reversed" },
  { role: /^DailyReconciliationReconcileDayRole/, action: '*', reason: 'runs once a day (rate(1 day)), not within a run; its calls are exercised (without IAM) by test/integration/saga/daily-reconciliation.test.ts' },
  { role: /^WebhooksDispatcherRole/, action: 'sqs:ChangeMessageVisibility', reason: "granted by CDK's SqsEventSource (grantConsumeMessages) for the mapping; Lambda's poller may call it" },
  { role: /^WebhooksDispatcherRole/, action: 'sqs:GetQueueUrl', reason: "granted by CDK's SqsEventSource (grantConsumeMessages) for the mapping" },
  { role: /^WebhooksRecorderRole/, action: 'sqs:GetQueueAttributes', resource: /WebhookDlq/, reason: "granted by CDK's SqsDlq for the stream mapping's on-failure destination" },
  { role: /^WebhooksRecorderRole/, action: 'sqs:GetQueueUrl', resource: /WebhookDlq/, reason: "granted by CDK's SqsDlq for the stream mapping's on-failure destination" },
  { role: /^WebhooksRecorderRole/, action: 'sqs:SendMessage', resource: /WebhookDlq/, reason: "the stream mapping's on-failure destination: a range of records the recorder failed for good" },
];

const DATA_PLANE = /^(dynamodb|sqs|states|lambda):/;

/** An IAM ARN pattern (with * and ?) matches a resource. */
const matches = (pattern: string, resource: string) =>
  new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(resource);

export function mergeReports(reports: readonly AccessReport[]): AccessReport {
  const roles = new Map<string, AccessReport['roles'][number]>();
  for (const report of reports) {
    for (const role of report.roles) {
      const known = roles.get(role.role);
      if (!known) {
        roles.set(role.role, structuredClone(role));
        continue;
      }
      for (const used of role.used) {
        const same = known.used.find((candidate) => candidate.action === used.action);
        if (same) same.resources = [...new Set([...same.resources, ...used.resources])].sort();
        else known.used.push(structuredClone(used));
      }
    }
  }
  return { roles: [...roles.values()], denials: reports.flatMap((report) => report.denials) };
}

/** The report's lines, and how many granted data-plane actions are unused without a reason. */
export function formatReport(report: AccessReport): { text: string; unexplained: number } {
  const lines: string[] = [];
  let unexplained = 0;
  for (const role of report.roles) {
    const granted = role.granted.filter((grant) => DATA_PLANE.test(grant.action));
    if (granted.length === 0) continue;
    lines.push(`\n${role.role} (${role.roleName})`);
    for (const grant of granted) {
      for (const resource of grant.resources) {
        const used = role.used.find((candidate) => matches(grant.action, candidate.action))?.resources.filter((candidate) => matches(resource, candidate)) ?? [];
        const short = resource.replace(/^arn:aws:[a-z-]+:[^:]*:\d*:/, '');
        if (used.length > 0) {
          lines.push(`  used    ${grant.action.padEnd(30)} ${short}`);
          continue;
        }
        const reason = JUSTIFIED.find((entry) => entry.role.test(role.role) && (entry.action === '*' || entry.action === grant.action) && (!entry.resource || entry.resource.test(resource)));
        if (reason) lines.push(`  unused  ${grant.action.padEnd(30)} ${short} — kept: ${reason.reason}`);
        else {
          unexplained += 1;
          lines.push(`  UNUSED  ${grant.action.padEnd(30)} ${short} — no reason given: narrow it`);
        }
      }
    }
  }
  if (report.denials.length > 0) lines.push(`\n${report.denials.length} denied call(s), e.g. ${report.denials[0]!.message}`);
  return { text: lines.join('\n'), unexplained };
}

/** One row per role: its granted data-plane (action, resource) pairs, how many the runs used, how many are kept unused with a reason, how many are unexplained. */
export function summaryTable(report: AccessReport): string {
  const rows: string[][] = [];
  for (const role of report.roles) {
    let granted = 0;
    let used = 0;
    let kept = 0;
    for (const grant of role.granted.filter((candidate) => DATA_PLANE.test(candidate.action))) {
      for (const resource of grant.resources) {
        granted += 1;
        const usedOn = role.used.find((candidate) => matches(grant.action, candidate.action))?.resources.some((candidate) => matches(resource, candidate));
        if (usedOn) used += 1;
        else if (JUSTIFIED.some((entry) => entry.role.test(role.role) && (entry.action === '*' || entry.action === grant.action) && (!entry.resource || entry.resource.test(resource)))) kept += 1;
      }
    }
    if (granted > 0) rows.push([role.role, String(granted), String(used), String(kept), String(granted - used - kept)]);
  }
  const header = ['role', 'granted', 'used', 'unused, kept (reason)', 'unused, unexplained'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column]!)).join(' | ')} |`;
  return [line(header), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** Runs `command` with PAYFLOW_ACCESS_REPORT set; its access report file, when it wrote one. */
function reportOf(label: string, command: string[], file: string, runs: string[]): string | undefined {
  process.stderr.write(`running ${label} on the twin ...\n`);
  const startedAt = Date.now();
  const run = spawnSync('npx', command, { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, PAYFLOW_ACCESS_REPORT: file } });
  const outcome = run.status === 0 ? 'passed' : `FAILED (exit ${run.status}; its usage still counts)`;
  runs.push(`${label}: ${outcome}, ${Math.round((Date.now() - startedAt) / 1000)} s`);
  if (run.status !== 0) process.stderr.write(`${label} ${outcome}\n`);
  return existsSync(file) ? file : undefined;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'payflow-iam-report-'));
  mkdirSync(resolve('.payflow'), { recursive: true });
  try {
    const files: string[] = [];
    const runs: string[] = [];
    if (!process.argv.includes('--no-acceptance')) {
      const file = reportOf('the acceptance suite', ['vitest', 'run', '--project', 'acceptance'], join(dir, 'acceptance.json'), runs);
      if (file) files.push(file);
    }
    if (!process.argv.includes('--no-reliability')) {
      const file = reportOf('the reliability run', ['tsx', 'tools/reliability/reliability.ts'], join(dir, 'reliability.json'), runs);
      if (file) files.push(file);
    }
    process.stderr.write('running the payment and refund flows, and the compensation and failure scenarios ...\n');
    const flowsStartedAt = Date.now();
    let cdkOut = process.env.PAYFLOW_CDK_OUT && resolve(process.env.PAYFLOW_CDK_OUT);
    if (!cdkOut) {
      cdkOut = join(dir, 'cdk.out');
      await synthesize({ app: PAYFLOW_LOCAL.app!, projectDir: PAYFLOW_LOCAL.projectDir, outdir: cdkOut });
    }
    const flowReports = join(dir, 'flows');
    mkdirSync(flowReports);
    const flows = await checkFlows(cdkOut, flowReports);
    const failedFlows = flows.filter(({ broke }) => broke).map(({ flow, broke }) => `${flow} FAILED (${broke})`);
    runs.push(`${flows.length} flows of tools/iam/flows.ts: ${failedFlows.length ? failedFlows.join(', ') : 'passed'}, ${Math.round((Date.now() - flowsStartedAt) / 1000)} s`);
    files.push(...readdirSync(flowReports).map((file) => join(flowReports, file)));
    const report = mergeReports(files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as AccessReport));
    const { text, unexplained } = formatReport(report);
    console.log(text);
    console.log(`\nGranted vs used data-plane (action, resource) pairs per role, over: ${runs.join('; ')}\n`);
    console.log(summaryTable(report));
    console.log(`\n${unexplained} granted data-plane action(s) unused and unexplained`);
    if (unexplained > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
