import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { createTablesFromTemplate } from '../../tools/local-runner/dynamodb/tables.ts';
import { testTemplatePath } from './paths.ts';

export const testTemplate = () => JSON.parse(readFileSync(testTemplatePath(), 'utf8'));

export const dynamodbClient = () => new DynamoDBClient({ endpoint: process.env.AWS_ENDPOINT_URL_DYNAMODB });
export const documentClient = () => DynamoDBDocumentClient.from(dynamodbClient(), { marshallOptions: { removeUndefinedValues: true } });
export const sqsClient = () => new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS });

/** Logical id prefix of each table in the synthesized template -> env var the functions read its name from. */
const TABLE_ENV: Record<string, string> = {
  DataPaymentsTable: 'PAYMENTS_TABLE_NAME',
  DataIdempotencyTable: 'IDEMPOTENCY_TABLE_NAME',
  DataSimulatedProcessorTable: 'PROCESSOR_TABLE_NAME',
  DataCircuitBreakerTable: 'CIRCUIT_BREAKER_TABLE_NAME',
  DataDailyReportsTable: 'DAILY_REPORTS_TABLE_NAME',
  WebhooksWebhooksTable: 'WEBHOOKS_TABLE_NAME',
};

/**
 * Creates every table of the synthesized stack in DynamoDB Local under fresh names and returns the
 * environment a function would get (PAYMENTS_TABLE_NAME, ...). Call it before importing a handler.
 */
export async function createTestTables(): Promise<Record<string, string>> {
  const suffix = randomUUID().slice(0, 8);
  const client = dynamodbClient();
  const names = await createTablesFromTemplate(client, testTemplate(), (logicalId) => `${logicalId}-${suffix}`);
  client.destroy();
  const env: Record<string, string> = {};
  for (const [logicalId, tableName] of Object.entries(names)) {
    const prefix = Object.keys(TABLE_ENV).find((p) => logicalId.startsWith(p));
    if (prefix) env[TABLE_ENV[prefix]!] = tableName;
  }
  return env;
}
