import { describe, expect, it } from 'vitest';
import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import { createTestTables, dynamodbClient } from '../support/aws.ts';

describe('test support', () => {
  it('creates the synthesized tables in DynamoDB Local with their stream and TTL', async () => {
    const env = await createTestTables();
    const table = await dynamodbClient().send(new DescribeTableCommand({ TableName: env.PAYMENTS_TABLE_NAME }));
    expect(table.Table?.StreamSpecification?.StreamViewType).toBe('NEW_AND_OLD_IMAGES');
    expect(table.Table?.GlobalSecondaryIndexes?.map((index) => index.IndexName).sort()).toEqual(['capture-postings-by-day', 'lookup', 'open-items']);
    expect(env.IDEMPOTENCY_TABLE_NAME).toMatch(/Idempotency/);
  });
});
