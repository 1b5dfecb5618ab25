import { GetCommand, QueryCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { documentClient } from '#commons/dynamodb';
import { requiredEnv } from '#commons/env';

/** The sparse index of items the saga still has work on (CONTRACT: openEntity, createdAt, KEYS_ONLY). */
const OPEN_ITEMS_INDEX = 'open-items';
const tableName = requiredEnv('PAYMENTS_TABLE_NAME');

export interface ItemKey {
  PK: string;
  SK: string;
}

/** Keys of open items of one entity created before `createdBefore`, oldest first, at most `limit` of them. */
export async function openItemKeys(entity: 'payment' | 'refund', createdBefore: string, limit: number): Promise<ItemKey[]> {
  const keys: ItemKey[] = [];
  let exclusiveStartKey: Record<string, unknown> | undefined;
  do {
    const page = await documentClient.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: OPEN_ITEMS_INDEX,
        KeyConditionExpression: 'openEntity = :entity AND createdAt < :before',
        ExpressionAttributeValues: { ':entity': entity, ':before': createdBefore },
        Limit: limit - keys.length,
        ExclusiveStartKey: exclusiveStartKey,
      }),
    );
    for (const item of page.Items ?? []) keys.push({ PK: String(item.PK), SK: String(item.SK) });
    exclusiveStartKey = page.LastEvaluatedKey;
  } while (exclusiveStartKey && keys.length < limit);
  return keys;
}

/** The item as it is now (the index is eventually consistent; the item is read strongly consistent). */
export async function readItem(key: ItemKey): Promise<Record<string, unknown> | undefined> {
  const { Item } = await documentClient.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }));
  return Item;
}

/**
 * Takes an item that no saga can move any more out of the open-items index and records when it was
 * handed to an operator, provided its status is still the one that was seen. Returns false when the
 * status moved in the meantime.
 */
export async function markHandedToOperator(key: ItemKey, seenStatus: string, at: string): Promise<boolean> {
  try {
    await documentClient.send(
      new UpdateCommand({
        TableName: tableName,
        Key: key,
        UpdateExpression: 'SET reconciliationFlaggedAt = :at REMOVE openEntity',
        ConditionExpression: '#status = :seen',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':at': at, ':seen': seenStatus },
      }),
    );
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
}
