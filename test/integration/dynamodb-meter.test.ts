import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateTableCommand, DynamoDBClient, PutItemCommand, TransactWriteItemsCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { itemSize, startDynamoDbMeter } from '../../tools/bench/dynamodb-meter.ts';

// The metering proxy of `npm run bench` in front of the real DynamoDB Local: single-item calls are
// recorded as Local reports them; transactions by AWS's documented rules, Local's figure kept aside.
let meter: Awaited<ReturnType<typeof startDynamoDbMeter>>;
let client: DynamoDBClient;
const table = `meter-${randomUUID().slice(0, 8)}`;

beforeAll(async () => {
  meter = await startDynamoDbMeter(process.env.AWS_ENDPOINT_URL_DYNAMODB!);
  client = new DynamoDBClient({ endpoint: meter.endpoint });
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: [{ AttributeName: 'PK', AttributeType: 'S' }, { AttributeName: 'open', AttributeType: 'S' }],
      KeySchema: [{ AttributeName: 'PK', KeyType: 'HASH' }],
      GlobalSecondaryIndexes: [{ IndexName: 'open-items', KeySchema: [{ AttributeName: 'open', KeyType: 'HASH' }], Projection: { ProjectionType: 'KEYS_ONLY' } }],
    }),
  );
});

afterAll(async () => {
  client.destroy();
  await meter.stop();
});

const lastCall = () => meter.calls.at(-1)!;

describe('DynamoDB meter', () => {
  it('records a PutItem as DynamoDB Local reports it, the index entry included', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { PK: { S: 'put' }, open: { S: 'yes' } } }));
    expect(lastCall()).toEqual({ operation: 'PutItem', writeUnits: { [table]: 1, [`${table}/open-items`]: 1 }, readUnits: {} });
  });

  it("passes a transaction on a missing table through: DynamoDB's own refusal, recorded as failed", async () => {
    await expect(client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: 'meter-missing-table', Item: { PK: { S: 'x' } } } }] }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
    expect(lastCall()).toEqual({ operation: 'TransactWriteItems (failed)', writeUnits: {}, readUnits: {} });
  });

  it('charges a one-item transaction 2 units, as AWS does, and keeps what Local reported', async () => {
    await client.send(new TransactWriteItemsCommand({ TransactItems: [{ Put: { TableName: table, Item: { PK: { S: 'one' } } } }] }));
    expect(lastCall().writeUnits).toEqual({ [table]: 2 });
    expect(lastCall().localWriteUnits).toEqual({ [table]: expect.any(Number) });
  });

  it('charges 2 units per item and 1 (the standard rate) for the index entry a transaction removes', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { PK: { S: 'closing' }, open: { S: 'yes' } } }));
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [
          { Put: { TableName: table, Item: { PK: { S: 'posting' } } } },
          { Update: { TableName: table, Key: { PK: { S: 'closing' } }, UpdateExpression: 'SET #s = :s REMOVE #open', ExpressionAttributeNames: { '#s': 'status', '#open': 'open' }, ExpressionAttributeValues: { ':s': { S: 'done' } } } },
        ],
      }),
    );
    expect(lastCall().writeUnits).toEqual({ [table]: 4, [`${table}/open-items`]: 1 });
  });

  it('charges by the larger image, per started KB', async () => {
    await client.send(new PutItemCommand({ TableName: table, Item: { PK: { S: 'big' }, note: { S: 'x'.repeat(1500) } } }));
    await client.send(
      new TransactWriteItemsCommand({
        TransactItems: [{ Update: { TableName: table, Key: { PK: { S: 'big' } }, UpdateExpression: 'REMOVE #note', ExpressionAttributeNames: { '#note': 'note' } } }],
      }),
    );
    expect(lastCall().writeUnits).toEqual({ [table]: 4 });
  });

  it('records a failed call without units', async () => {
    await expect(
      client.send(new UpdateItemCommand({ TableName: table, Key: { PK: { S: 'missing' } }, UpdateExpression: 'SET a = :a', ConditionExpression: 'attribute_exists(PK)', ExpressionAttributeValues: { ':a': { S: 'a' } } })),
    ).rejects.toThrow();
    expect(lastCall()).toEqual({ operation: 'UpdateItem (failed)', writeUnits: {}, readUnits: {} });
  });
});

describe('itemSize (AWS: names + values; numbers 1 byte per 2 significant digits + 1; lists and maps 3 + 1 per element)', () => {
  it.each([
    [{ PK: { S: 'abc' } }, 5],
    [{ n: { N: '12345' } }, 1 + 4],
    [{ n: { N: '-1.500' } }, 1 + 2],
    [{ n: { N: '100' } }, 1 + 2],
    [{ f: { BOOL: true } }, 2],
    [{ l: { L: [{ S: 'ab' }, { N: '1' }] } }, 1 + 3 + (1 + 2) + (1 + 2)],
    [{ m: { M: { k: { S: 'v' } } } }, 1 + 3 + (1 + 1 + 1)],
    [{ é: { S: 'é' } }, 4],
  ])('%j → %i bytes', (item, bytes) => {
    expect(itemSize(item)).toBe(bytes);
  });
});
