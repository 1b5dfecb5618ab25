/**
 * The daily reconciliation's table: one partition per day (`day`), holding the report (`item` =
 * `REPORT`: the counts and when it last ran) and one finding per payment (`item` = `FINDING#<paymentId>`).
 * A day's whole report is one Query. Findings are written once (a conditional put): the first run's
 * finding stands, so a second run finds it and does nothing more.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { PutCommand, QueryCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { DailyCounts, Finding } from '#domain/daily-reconciliation';
import type { DailyReports } from '#ports/daily-reports';

export const REPORT_ITEM = 'REPORT';
const FINDING_PREFIX = 'FINDING#';

export class DailyReportsTable implements DailyReports {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async findingsOf(day: string): Promise<Finding[]> {
    const findings: Finding[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: '#day = :day AND begins_with(#item, :finding)',
        ExpressionAttributeNames: { '#day': 'day', '#item': 'item' },
        ExpressionAttributeValues: { ':day': day, ':finding': FINDING_PREFIX },
        ConsistentRead: true,
        ExclusiveStartKey: exclusiveStartKey,
      }));
      for (const { item: _item, ...finding } of page.Items ?? []) findings.push(finding as Finding);
      exclusiveStartKey = page.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return findings;
  }

  async recordFinding(finding: Finding): Promise<boolean> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { ...finding, item: `${FINDING_PREFIX}${finding.paymentId}` },
        ConditionExpression: 'attribute_not_exists(#item)',
        ExpressionAttributeNames: { '#item': 'item' },
      }));
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async saveReport(report: { day: string; counts: DailyCounts; lastRunAt: string }): Promise<void> {
    await this.client.send(new PutCommand({ TableName: this.tableName, Item: { ...report, item: REPORT_ITEM } }));
  }
}
