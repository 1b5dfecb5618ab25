/**
 * The circuit breaker's table: a small table of its own (key `key`, TTL `expiresAt`), so that only the
 * Authorize function is granted it, and only GetItem and UpdateItem. Items:
 *
 * | key | attributes |
 * | `processor` | generation, openedUntil? (epoch ms), probeUntil? (epoch ms) |
 * | `processor#failures#<generation>#<window start ms>` | failures, expiresAt (TTL, epoch s) |
 *
 * Every change of position is one conditional update, so concurrent executions agree: one opener,
 * one probe, one closer.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { GetCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLOSED, type CircuitBreakerState } from '#domain/circuit-breaker';
import type { CircuitBreakerStore } from '#ports/circuit-breaker';

const STATE_KEY = 'processor';
const failuresKey = (generation: number, windowStart: number) => `${STATE_KEY}#failures#${generation}#${windowStart}`;

const unlessConditionFailed = async (write: Promise<unknown>): Promise<boolean> => {
  try {
    await write;
    return true;
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return false;
    throw error;
  }
};

export class CircuitBreakerTable implements CircuitBreakerStore {
  constructor(
    private readonly tableName: string,
    private readonly client: DynamoDBDocumentClient,
  ) {}

  async read(): Promise<CircuitBreakerState> {
    // Eventually consistent (half a read unit): a stale answer only delays a change by about a second,
    // and every change is decided by a conditional write.
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { key: STATE_KEY } }));
    if (!Item) return CLOSED;
    return {
      generation: (Item.generation as number | undefined) ?? 0,
      ...(typeof Item.openedUntil === 'number' ? { openedUntil: Item.openedUntil } : {}),
      ...(typeof Item.probeUntil === 'number' ? { probeUntil: Item.probeUntil } : {}),
    };
  }

  async recordFailure({ generation, windowStart, expiresAtMs }: { generation: number; windowStart: number; expiresAtMs: number }): Promise<number> {
    const { Attributes } = await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { key: failuresKey(generation, windowStart) },
        UpdateExpression: 'ADD failures :one SET expiresAt = if_not_exists(expiresAt, :expiresAt)',
        ExpressionAttributeValues: { ':one': 1, ':expiresAt': Math.ceil(expiresAtMs / 1000) },
        ReturnValues: 'UPDATED_NEW',
      }),
    );
    return Attributes?.failures as number;
  }

  open({ generation, openedUntil }: { generation: number; openedUntil: number }): Promise<boolean> {
    return unlessConditionFailed(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { key: STATE_KEY },
          UpdateExpression: 'SET openedUntil = :openedUntil, generation = if_not_exists(generation, :generation) REMOVE probeUntil',
          ConditionExpression: 'attribute_not_exists(openedUntil) AND (attribute_not_exists(generation) OR generation = :generation)',
          ExpressionAttributeValues: { ':openedUntil': openedUntil, ':generation': generation },
        }),
      ),
    );
  }

  claimProbe({ openedUntil, probeUntil, nowMs }: { openedUntil: number; probeUntil: number; nowMs: number }): Promise<boolean> {
    return unlessConditionFailed(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { key: STATE_KEY },
          UpdateExpression: 'SET probeUntil = :probeUntil',
          ConditionExpression: 'openedUntil = :openedUntil AND openedUntil <= :now AND (attribute_not_exists(probeUntil) OR probeUntil <= :now)',
          ExpressionAttributeValues: { ':openedUntil': openedUntil, ':probeUntil': probeUntil, ':now': nowMs },
        }),
      ),
    );
  }

  async reopen({ openedUntil, reopenedUntil }: { openedUntil: number; reopenedUntil: number }): Promise<void> {
    await unlessConditionFailed(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { key: STATE_KEY },
          UpdateExpression: 'SET openedUntil = :reopenedUntil REMOVE probeUntil',
          ConditionExpression: 'openedUntil = :openedUntil',
          ExpressionAttributeValues: { ':openedUntil': openedUntil, ':reopenedUntil': reopenedUntil },
        }),
      ),
    );
  }

  async close({ openedUntil }: { openedUntil: number }): Promise<void> {
    await unlessConditionFailed(
      this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: { key: STATE_KEY },
          UpdateExpression: 'REMOVE openedUntil, probeUntil ADD generation :one',
          ConditionExpression: 'openedUntil = :openedUntil',
          ExpressionAttributeValues: { ':openedUntil': openedUntil, ':one': 1 },
        }),
      ),
    );
  }
}
