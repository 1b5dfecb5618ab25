/**
 * The Webhooks table: a merchant's events and webhook endpoints in one partition per merchant.
 *
 *   PK = MERCHANT#<merchantId>   SK = EVENT#<eventId>      an event (expiresAt: TTL, 30 days)
 *                                SK = ENDPOINT#<endpointId> a webhook endpoint and its signing secret(s)
 *
 * The secrets (`secret`, and `previousSecret` during a roll's overlap) are stored sealed by a SecretCipher (KMS
 * envelope encryption, bound to the merchant and endpoint); only getSigningEndpoint opens them, and only when
 * asked. A secret stored before the secrets were encrypted (`whsec_…` in plain text) is read as it is.
 * Event ids begin with the change's time, so a reverse query on EVENT# is newest first and a cursor is
 * the last id seen. Every read names the merchant's partition: another merchant's id is never found.
 */
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { documentClient } from '#commons/dynamodb';
import { setting } from '#commons/environment';
import { EVENT_RETENTION_SECONDS, type MerchantEvent, type SigningSecrets, type WebhookEndpoint } from '#domain/webhooks';
import type { SecretCipher } from '#ports/secret-cipher';
import type { EndpointChanges, EventPage, WebhooksStore } from '#ports/webhooks-store';

const EVENT = 'EVENT#';
const ENDPOINT = 'ENDPOINT#';
const partition = (merchantId: string) => `MERCHANT#${merchantId}`;
/** A query page is at most 1 MB; a type filter may need several to fill one list page. */
const MAX_FILTERED_QUERY_PAGES = 20;
const MAX_LIST_QUERY_ITEMS = 101;

const PLAINTEXT_SECRET = /^whsec_/;
const secretContext = (merchantId: string, endpointId: string) => ({ merchantId, webhookEndpoint: endpointId });

export class WebhooksTable implements WebhooksStore {
  constructor(
    private readonly tableName: string,
    private readonly client: DynamoDBDocumentClient = documentClient,
    /** Only the functions that write or sign with secrets have one (and the KMS grant it needs). */
    private readonly cipher?: SecretCipher,
  ) {}

  private get secrets(): SecretCipher {
    if (!this.cipher) throw new Error('This Webhooks table adapter has no secret cipher: it cannot store or read signing secrets');
    return this.cipher;
  }

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

  async createEndpoint(endpoint: WebhookEndpoint, secret: string): Promise<void> {
    const sealed = await this.secrets.seal(secret, secretContext(endpoint.merchantId, endpoint.id));
    await this.client.send(new PutCommand({
      TableName: this.tableName,
      Item: { PK: partition(endpoint.merchantId), SK: ENDPOINT + endpoint.id, ...endpoint, secret: sealed },
      ConditionExpression: 'attribute_not_exists(PK)',
    }));
  }

  async getEndpoint(merchantId: string, endpointId: string): Promise<WebhookEndpoint | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId }, ConsistentRead: true }));
    return Item ? toEndpoint(Item) : undefined;
  }

  async getSigningEndpoint(merchantId: string, endpointId: string): Promise<{ endpoint: WebhookEndpoint; secrets(): Promise<SigningSecrets> } | undefined> {
    const { Item } = await this.client.send(new GetCommand({ TableName: this.tableName, Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId }, ConsistentRead: true }));
    if (!Item) return undefined;
    const context = secretContext(merchantId, endpointId);
    const open = (stored: string) => (PLAINTEXT_SECRET.test(stored) ? Promise.resolve(stored) : this.secrets.open(stored, context));
    return {
      endpoint: toEndpoint(Item),
      secrets: async () => {
        const expiresAt = Item.previousSecretExpiresAt === undefined ? undefined : Number(Item.previousSecretExpiresAt);
        // An expired previous secret signs nothing: not worth a Decrypt.
        const previousLive = typeof Item.previousSecret === 'string' && expiresAt !== undefined && expiresAt > Date.now() / 1000;
        const [secret, previousSecret] = await Promise.all([open(String(Item.secret)), previousLive ? open(Item.previousSecret as string) : undefined]);
        return { secret, ...(previousSecret === undefined ? {} : { previousSecret, previousSecretExpiresAt: expiresAt }) };
      },
    };
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
    const sealed = await this.secrets.seal(roll.secret, secretContext(merchantId, endpointId));
    try {
      const { Attributes } = await this.client.send(new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: partition(merchantId), SK: ENDPOINT + endpointId },
        UpdateExpression: 'SET previousSecret = secret, previousSecretExpiresAt = :expires, secret = :secret',
        ConditionExpression: 'attribute_exists(PK)',
        ExpressionAttributeValues: { ':expires': roll.previousSecretExpiresAt, ':secret': sealed },
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

/** The endpoint as the domain sees it: no keys, no secrets. */
function toEndpoint(item: Record<string, unknown>): WebhookEndpoint {
  const { PK: _pk, SK: _sk, secret: _secret, previousSecret: _previous, previousSecretExpiresAt: _expires, ...endpoint } = item;
  return { ...(endpoint as unknown as WebhookEndpoint), created: Number(endpoint.created) };
}

/**
 * The table of the function's settings; `cipher` only for the functions that store secrets (the endpoints API) or
 * sign with them (the dispatcher), so that the others bundle no KMS client and hold no KMS grant.
 */
export const webhooksTableFromSettings = (cipher?: SecretCipher) => new WebhooksTable(setting('webhooksTable'), documentClient, cipher);
