/**
 * The Webhooks table: a merchant's events and webhook endpoints in one partition per merchant.
 *
 *   PK = MERCHANT#<merchantId>   SK = EVENT#<eventId>      an event (expiresAt: TTL, 30 days)
 *                                SK = ENDPOINT#<endpointId> a webhook endpoint and its signing secret(s)
 *
 * Event ids begin with the change's time, so a reverse query on EVENT# is newest first and a cursor is
 * the last id seen. Every read names the merchant's partition: another merchant's id is never found.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#commons/dynamodb';
import { setting } from '#commons/environment';
import { EVENT_RETENTION_SECONDS, type MerchantEvent, type WebhookEndpoint } from '#domain/webhooks';
import type { EndpointChanges, EventPage, WebhooksStore } from '#ports/webhooks-store';

const EVENT = 'EVENT#';
const ENDPOINT = 'ENDPOINT#';
const partition = (merchantId: string) => `MERCHANT#${merchantId}`;
/** A query page is at most 1 MB; a type filter may need several to fill one list page. */
const MAX_FILTERED_QUERY_PAGES = 20;
const MAX_LIST_QUERY_ITEMS = 101;

export class WebhooksTable implements WebhooksStore {
  constructor(
    private readonly tableName: string,
    private readonly client: DynamoDBDocumentClient = documentClient,
  ) {}

  async recordEvent(event: MerchantEvent): Promise<void> {
    try {
      await this.client.send(new PutCommand({
        TableName: this.tableName,
        Item: { PK: partition(event.merchantId), SK: EVENT + event.id, ...event, expiresAt: event.created + EVENT_RETENTION_SECONDS },
        ConditionExpression: 'attribute_not_exists(PK)',
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async getEvent(merchantId: string, eventId: string): Promise<MerchantEvent | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK: partition(merchantId), SK: EVENT + eventId } }));
    return Item ? toEvent(Item) : undefined;
  }

  async listEvents(merchantId: string, { limit, startingAfter, type }: { limit: number; startingAfter?: string; type?: string }): Promise<EventPage> {
    const events: MerchantEvent[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined = startingAfter ? { PK: partition(merchantId), SK: EVENT + startingAfter } : undefined;
    for (let page = 0; page < MAX_FILTERED_QUERY_PAGES; page++) {
      const result = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :event)',
        ExpressionAttributeValues: { ':pk': partition(merchantId), ':event': EVENT, ...(type ? { ':type': type } : {}) },
        ...(type ? { FilterExpression: '#type = :type', ExpressionAttributeNames: { '#type': 'type' } } : {}),
        ScanIndexForward: false,
        // One more than asked tells whether there is a next page.
        Limit: type ? MAX_LIST_QUERY_ITEMS : limit + 1 - events.length,
        ExclusiveStartKey: exclusiveStartKey,
      }));
      events.push(...(result.Items ?? []).map(toEvent));
      exclusiveStartKey = result.LastEvaluatedKey;
      if (events.length > limit || !exclusiveStartKey) break;
    }
    // Stopped with more of the partition unread (the page cap of a filtered list): there may be more.
    return { events: events.slice(0, limit), hasMore: events.length > limit || exclusiveStartKey !== undefined };
  }

  async createEndpoint(endpoint: WebhookEndpoint): Promise<void> {
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: { PK: partition(endpoint.merchantId), SK: ENDPOINT + endpoint.id, ...endpoint },
      ConditionExpression: 'attribute_not_exists(PK)',
    }));
  }

  async getEndpoint(merchantId: string, endpointId: string): Promise<WebhookEndpoint | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId }, ConsistentRead: true }));
    return Item ? toEndpoint(Item) : undefined;
  }

  async listEndpoints(merchantId: string): Promise<WebhookEndpoint[]> {
    const endpoints: WebhookEndpoint[] = [];
    let exclusiveStartKey: Record<string, unknown> | undefined;
    do {
      const result = await this.client.send(new QueryCommand({
        TableName: this.tableName,
        KeyConditionExpression: 'PK = :pk AND begins_with(SK, :endpoint)',
        ExpressionAttributeValues: { ':pk': partition(merchantId), ':endpoint': ENDPOINT },
        ExclusiveStartKey: exclusiveStartKey,
      }));
      endpoints.push(...(result.Items ?? []).map(toEndpoint));
      exclusiveStartKey = result.LastEvaluatedKey;
    } while (exclusiveStartKey);
    return endpoints.sort((a, b) => b.created - a.created || (a.id < b.id ? 1 : -1));
  }

  async deleteEndpoint(merchantId: string, endpointId: string): Promise<boolean> {
    const { Attributes } = await this.client.send(new DeleteCommand({
      TableName: this.tableName,
      Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId },
      ReturnValues: 'ALL_OLD',
    }));
    return Attributes !== undefined;
  }

  async rollSecret(merchantId: string, endpointId: string, roll: { secret: string; previousSecretExpiresAt: number }): Promise<WebhookEndpoint | undefined> {
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId },
        UpdateExpression: 'SET previousSecret = secret, previousSecretExpiresAt = :expires, secret = :secret',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':expires': roll.previousSecretExpiresAt, ':secret': roll.secret },
        ReturnValues: 'ALL_NEW',
      }));
      return Attributes ? toEndpoint(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  async disableEndpoint(merchantId: string, endpointId: string, reason: string): Promise<void> {
    try {
      await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId },
        UpdateExpression: 'SET #status = :disabled, disabledReason = :reason',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: { '#status': 'status' },
        ExpressionAttributeValues: { ':disabled': 'disabled', ':reason': reason },
      }));
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }
  async updateEndpoint(merchantId: string, endpointId: string, changes: EndpointChanges): Promise<WebhookEndpoint | undefined> {
    const set: string[] = [];
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    for (const [attribute, value] of Object.entries(changes)) {
      if (value === undefined) continue;
      names[`#${attribute}`] = attribute;
      values[`:${attribute}`] = value;
      set.push(`#${attribute} = :${attribute}`);
    }
    const reEnabled = changes.status === 'enabled';
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId },
        UpdateExpression: [`SET ${set.join(', ')}`, ...(reEnabled ? ['REMOVE disabledReason'] : [])].join(' '),
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ReturnValues: 'ALL_NEW',
      }));
      return Attributes ? toEndpoint(Attributes) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }
}

function toEvent(item: Record<string, unknown>): MerchantEvent {
  const { id, merchantId, type, created, object } = item as unknown as MerchantEvent;
  return { id, merchantId, type, created: Number(created), object };
}

function toEndpoint(item: Record<string, unknown>): WebhookEndpoint {
  const { PK: _pk, SK: _sk, ...endpoint } = item;
  return { ...(endpoint as unknown as WebhookEndpoint), created: Number(endpoint.created) };
}

export const webhooksTableFromSettings = () => new WebhooksTable(setting('webhooksTable'));
