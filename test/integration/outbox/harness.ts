/**
 * The outbox on real emulators: fresh Payments tables in DynamoDB Local (with their stream), fresh
 * fauxqs queues shaped like the synthesized ones, the BUNDLED handlers of the test cloud assembly
 * imported in-process with the environment the template gives them, and the local event source
 * mappings (tools/local-runner/*-poller.ts) configured with the template's own mapping properties.
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  type Message,
  type QueueAttributeName,
} from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { paymentItem, refundItem, type PaymentItem, type RefundItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { newPayment } from '../../../lambdas/domain/payment.ts';
import { newRefund } from '../../../lambdas/domain/refund.ts';
import type { EventSourceMappingProperties } from '../../../tools/local-runner/event-source-mappings/mapping.ts';
import { createTestTables, documentClient, sqsClient, testTemplate } from '../../support/aws.ts';
import { lambdaContext } from '../../support/api-events.ts';
import { testCdkOut } from '../../support/paths.ts';

type Template = { Resources: Record<string, { Type: string; Properties?: Record<string, any>; Metadata?: Record<string, any> }> };
export type Handler<E = unknown> = (event: E) => Promise<any>;

/** The logical id of the one resource of `type` whose id starts with `prefix` (e.g. `OutboxRelay`). */
export function logicalIdOf(template: Template, type: string, prefix: string): string {
  const ids = Object.keys(template.Resources).filter((id) => template.Resources[id]!.Type === type && id.startsWith(prefix));
  if (ids.length !== 1) throw new Error(`expected one ${type} ${prefix}*, found ${ids.join(', ') || 'none'}`);
  return ids[0]!;
}

/** The properties of the event source mapping that invokes the function `functionPrefix`. */
export function mappingOf(functionPrefix: string): EventSourceMappingProperties {
  const template = testTemplate() as Template;
  const functionId = logicalIdOf(template, 'AWS::Lambda::Function', functionPrefix);
  const mapping = Object.values(template.Resources).find(
    (resource) => resource.Type === 'AWS::Lambda::EventSourceMapping' && resource.Properties?.FunctionName?.Ref === functionId,
  );
  if (!mapping) throw new Error(`no event source mapping for ${functionId}`);
  return mapping.Properties as EventSourceMappingProperties;
}

/** The SQS attributes a synthesized queue was declared with (FIFO, deduplication, redrive...). */
export function queueAttributesOf(queuePrefix: string): Record<string, string> {
  const template = testTemplate() as Template;
  const properties = template.Resources[logicalIdOf(template, 'AWS::SQS::Queue', queuePrefix)]!.Properties ?? {};
  const attributes: Record<string, string> = {};
  for (const name of ['FifoQueue', 'ContentBasedDeduplication', 'DeduplicationScope', 'FifoThroughputLimit', 'VisibilityTimeout', 'MessageRetentionPeriod']) {
    if (properties[name] !== undefined) attributes[name] = String(properties[name]);
  }
  return attributes;
}

/** maxReceiveCount of a synthesized queue's RedrivePolicy. */
export function maxReceiveCountOf(queuePrefix: string): number {
  const template = testTemplate() as Template;
  const properties = template.Resources[logicalIdOf(template, 'AWS::SQS::Queue', queuePrefix)]!.Properties ?? {};
  return Number(properties.RedrivePolicy.maxReceiveCount);
}

/**
 * Imports the bundled handler of function `functionPrefix` (its cdk.out asset) after setting `env`,
 * as Lambda would load it: a fresh module instance, so it reads this environment at import.
 */
export async function importBundledHandler<E>(functionPrefix: string, env: Record<string, string>): Promise<Handler<E>> {
  const template = testTemplate() as Template;
  const functionId = logicalIdOf(template, 'AWS::Lambda::Function', functionPrefix);
  const resource = template.Resources[functionId]!;
  const assetPath =
    resource.Metadata?.['aws:asset:path'] ?? `asset.${String(resource.Properties?.Code?.S3Key).replace(/\.zip$/, '')}`;
  Object.assign(process.env, env);
  const url = `${pathToFileURL(join(testCdkOut(), assetPath, 'index.mjs')).href}?instance=${randomUUID()}`;
  const module = (await import(/* @vite-ignore */ url)) as { handler: (event: E, context: unknown) => Promise<any> };
  return (event: E) => module.handler(event, lambdaContext({ functionName: functionId, remainingMs: 30_000 }));
}

export async function createQueue(prefix: string, attributes: Record<string, string> = {}): Promise<string> {
  const fifo = attributes.FifoQueue === 'true';
  const name = `${prefix}-${randomUUID().slice(0, 8)}${fifo ? '.fifo' : ''}`;
  const { QueueUrl } = await sqsClient().send(
    new CreateQueueCommand({ QueueName: name, Attributes: attributes as Partial<Record<QueueAttributeName, string>> }),
  );
  return QueueUrl!;
}

export async function queueArn(queueUrl: string): Promise<string> {
  const { Attributes } = await sqsClient().send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
  return Attributes!.QueueArn!;
}

export interface ReceivedMessage {
  body: any;
  rawBody: string;
  groupId?: string;
  deduplicationId?: string;
  receiveCount: number;
  attributes: Record<string, string>;
}

const toReceived = (message: Message): ReceivedMessage => ({
  body: JSON.parse(message.Body!),
  rawBody: message.Body!,
  groupId: message.Attributes?.MessageGroupId,
  deduplicationId: message.Attributes?.MessageDeduplicationId,
  receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
  attributes: Object.fromEntries(Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [name, value.StringValue ?? ''])),
});

/**
 * Receives (and deletes) messages until `count` have arrived, then checks for `settleMs` that no more
 * come; throws when `count` are not there by the deadline. FIFO order is kept: each receive is
 * deleted before the next, so a group's next message can be delivered.
 */
export async function drainQueue(queueUrl: string, count: number, options: { timeoutMs?: number; settleMs?: number } = {}): Promise<ReceivedMessage[]> {
  const sqs = sqsClient();
  const received: ReceivedMessage[] = [];
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);
  let settleUntil: number | undefined;
  for (;;) {
    if (received.length >= count) settleUntil ??= Date.now() + (options.settleMs ?? 1_000);
    if (settleUntil !== undefined && Date.now() >= settleUntil) return received;
    if (Date.now() >= deadline) throw new Error(`received ${received.length} of ${count} messages from ${queueUrl}`);
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ['All'],
        MessageAttributeNames: ['All'],
      }),
    );
    for (const message of Messages) {
      received.push(toReceived(message));
      await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    }
  }
}

/** Polls `check` until it returns a value other than undefined, or throws after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Writes payment and refund items as the API and the saga do (CONTRACT item shapes). */
export class PaymentsTable {
  private readonly db = documentClient();
  constructor(readonly tableName: string) {}

  async createPayment(overrides: Partial<PaymentItem> = {}, createdAt = new Date()): Promise<PaymentItem> {
    const id = overrides.id ?? `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    const item = { ...paymentItem(newPayment({ id, merchantId: overrides.merchantId ?? 'merchant-a', amount: 2500, currency: 'USD', source: 'tok_success', requestHash: 'h'.repeat(64), now: createdAt })), ...overrides };
    await this.put(item);
    return item;
  }

  async createRefund(payment: PaymentItem, amount: number, createdAt = new Date(), overrides: Partial<RefundItem> = {}): Promise<RefundItem> {
    const id = `re_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
    const item = { ...refundItem(newRefund({ id, payment, amount, requestHash: 'r'.repeat(64), now: createdAt })), ...overrides };
    await this.put(item);
    return item;
  }

  async put(item: object): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.tableName, Item: item }));
  }

  /** A status change as the saga makes it: status and updatedAt, plus any other attributes given. */
  async update(key: { PK: string; SK: string }, attributes: Record<string, unknown>, remove: string[] = []): Promise<void> {
    const names = Object.keys(attributes);
    await this.db.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { PK: key.PK, SK: key.SK },
        UpdateExpression: [
          names.length ? `SET ${names.map((_, index) => `#a${index} = :v${index}`).join(', ')}` : '',
          remove.length ? `REMOVE ${remove.map((_, index) => `#r${index}`).join(', ')}` : '',
        ].join(' '),
        ExpressionAttributeNames: {
          ...Object.fromEntries(names.map((name, index) => [`#a${index}`, name])),
          ...Object.fromEntries(remove.map((name, index) => [`#r${index}`, name])),
        },
        ...(names.length ? { ExpressionAttributeValues: Object.fromEntries(names.map((name, index) => [`:v${index}`, attributes[name]])) } : {}),
      }),
    );
  }

  setStatus(item: { PK: string; SK: string }, status: string, extra: Record<string, unknown> = {}, remove: string[] = []): Promise<void> {
    return this.update(item, { status, updatedAt: new Date().toISOString(), ...extra }, remove);
  }
}

export { createTestTables };
