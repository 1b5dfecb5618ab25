/**
 * Reads a day's daily-reconciliation report (issue 12) with the AWS SDK alone — the table's layout is
 * part of its interface: per `day`, the item `REPORT` (counts, lastRunAt) and one `FINDING#<paymentId>`
 * per recovered payment or discrepancy — and prints it for an operator.
 */
import { QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

export interface StoredReport {
  day: string;
  counts?: {
    processorCaptures: number;
    ledgerPostings: number;
    matched: number;
    inFlight: number;
    recovered: number;
    discrepancies: Record<string, number>;
  };
  lastRunAt?: string;
  findings: Array<{ paymentId: string; kind: string; detail: string; paymentStatus?: string; foundAt: string }>;
}

export async function readDailyReport(client: DynamoDBDocumentClient, tableName: string, day: string): Promise<StoredReport> {
  const report: StoredReport = { day, findings: [] };
  let exclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await client.send(new QueryCommand({
      TableName: tableName,
      KeyConditionExpression: '#day = :day',
      ExpressionAttributeNames: { '#day': 'day' },
      ExpressionAttributeValues: { ':day': day },
      ExclusiveStartKey: exclusiveStartKey,
    }));
    for (const item of page.Items ?? []) {
      if (item.item === 'REPORT') Object.assign(report, { counts: item.counts, lastRunAt: item.lastRunAt });
      else report.findings.push(item as StoredReport['findings'][number]);
    }
    exclusiveStartKey = page.LastEvaluatedKey;
  } while (exclusiveStartKey);
  return report;
}

export function formatReport(report: StoredReport): string {
  if (!report.counts) return `No reconciliation report for ${report.day}: the run has not happened (or failed). Run it: aws lambda invoke --function-name <DailyReconciliationFunctionName> --payload '{"day":"${report.day}"}' out.json`;
  const { counts } = report;
  const discrepancies = Object.values(counts.discrepancies).reduce((sum, n) => sum + n, 0);
  const lines = [
    `Reconciliation of ${report.day} (last run ${report.lastRunAt})`,
    `  processor captures  ${counts.processorCaptures}`,
    `  ledger postings     ${counts.ledgerPostings}`,
    `  matched             ${counts.matched}`,
    `  in flight           ${counts.inFlight}`,
    `  recovered           ${counts.recovered}`,
    `  discrepancies       ${discrepancies}${discrepancies ? ` (${Object.entries(counts.discrepancies).filter(([, n]) => n > 0).map(([kind, n]) => `${kind} ${n}`).join(', ')})` : ''}`,
  ];
  const byKind = [...report.findings].sort((a, b) => a.kind.localeCompare(b.kind) || a.paymentId.localeCompare(b.paymentId));
  if (byKind.length > 0) lines.push('', 'Findings (README runbook: "Reconciliation discrepancy"):');
  for (const finding of byKind) lines.push(`  ${finding.kind.padEnd(22)} ${finding.paymentId}  ${finding.detail}${finding.paymentStatus ? ` [payment ${finding.paymentStatus}]` : ''}`);
  return lines.join('\n');
}
