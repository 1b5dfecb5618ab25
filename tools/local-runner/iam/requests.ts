/**
 * What an AWS JSON-protocol request asks IAM for: the action(s) and resource ARN(s) the service authorizes,
 * from the `X-Amz-Target` header and the body. A transaction is authorized item by item with each item's own
 * action (Put → dynamodb:PutItem, Update → UpdateItem, Delete → DeleteItem, ConditionCheck → ConditionCheckItem,
 * Get → GetItem) and a batch table by table, as DynamoDB does
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis-iam.html, read 2026-12-01);
 * SQS batch calls are authorized as their single-message action
 * (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-api-permissions-reference.html, read 2026-12-01).
 */
import type { AccessRequest } from './authorizer.ts';
import type { PolicyDocument } from './roles.ts';

export interface ResourceNames {
  /** A table's ARN by its name. */
  tableArn(tableName: string): string;
  /** A queue's ARN by its URL (or by its name, for GetQueueUrl). */
  queueArn(queueUrlOrName: string): string;
  /** The stream a shard iterator reads (DynamoDB Local's iterators name it); undefined when unknown. */
  streamOfShardIterator?(iterator: string): string | undefined;
  /** The ARN of the KMS key a ciphertext blob (base64) was made with (the local KMS's blobs name it); undefined when unknown. */
  keyOfCiphertext?(ciphertextBlob: string): string | undefined;
  /** A KMS key's key policy by its ARN (the template's KeyPolicy, resolved); undefined when unknown. */
  keyPolicy?(keyArn: string): PolicyDocument | undefined;
  region: string;
  accountId: string;
}

export type JsonService = 'dynamodb' | 'dynamodb-streams' | 'sqs' | 'states' | 'kms';

/** The service and operation of an `X-Amz-Target` header, or undefined for another protocol. */
export function parseTarget(target: string | undefined): { service: JsonService; operation: string } | undefined {
  const [prefix, operation] = String(target ?? '').split('.');
  if (!operation) return undefined;
  if (prefix === 'DynamoDB_20120810') return { service: 'dynamodb', operation };
  if (prefix === 'DynamoDBStreams_20120810') return { service: 'dynamodb-streams', operation };
  if (prefix === 'AmazonSQS') return { service: 'sqs', operation };
  if (prefix === 'AWSStepFunctions') return { service: 'states', operation };
  if (prefix === 'TrentService') return { service: 'kms', operation };
  return undefined;
}

const TRANSACT_WRITE_ACTIONS: Record<string, string> = { Put: 'PutItem', Update: 'UpdateItem', Delete: 'DeleteItem', ConditionCheck: 'ConditionCheckItem' };
const SQS_BATCH_ACTIONS: Record<string, string> = { SendMessageBatch: 'SendMessage', DeleteMessageBatch: 'DeleteMessage', ChangeMessageVisibilityBatch: 'ChangeMessageVisibility' };

type Body = Record<string, any>;

function dynamodbRequests(operation: string, body: Body, names: ResourceNames): AccessRequest[] {
  const table = (name: unknown) => names.tableArn(String(name));
  switch (operation) {
    case 'TransactWriteItems':
      return (body.TransactItems ?? []).flatMap((item: Body) =>
        Object.entries(item)
          .filter(([kind]) => kind in TRANSACT_WRITE_ACTIONS)
          .map(([kind, detail]) => ({ action: `dynamodb:${TRANSACT_WRITE_ACTIONS[kind]}`, resource: table((detail as Body).TableName) })),
      );
    case 'TransactGetItems':
      return (body.TransactItems ?? []).map((item: Body) => ({ action: 'dynamodb:GetItem', resource: table(item.Get?.TableName) }));
    case 'BatchGetItem':
    case 'BatchWriteItem':
      return Object.keys(body.RequestItems ?? {}).map((name) => ({ action: `dynamodb:${operation}`, resource: table(name) }));
    case 'Query':
    case 'Scan':
      return [{ action: `dynamodb:${operation}`, resource: body.IndexName ? `${table(body.TableName)}/index/${body.IndexName}` : table(body.TableName) }];
    case 'ListTables':
      return [{ action: 'dynamodb:ListTables', resource: '*' }];
    default:
      return [{ action: `dynamodb:${operation}`, resource: body.TableName ? table(body.TableName) : '*' }];
  }
}

function streamsRequests(operation: string, body: Body, names: ResourceNames): AccessRequest[] {
  if (operation === 'ListStreams') return [{ action: 'dynamodb:ListStreams', resource: '*' }];
  const stream = body.StreamArn ?? (body.ShardIterator ? names.streamOfShardIterator?.(String(body.ShardIterator)) : undefined) ?? '*';
  return [{ action: `dynamodb:${operation}`, resource: String(stream) }];
}

function sqsRequests(operation: string, body: Body, names: ResourceNames): AccessRequest[] {
  const action = `sqs:${SQS_BATCH_ACTIONS[operation] ?? operation}`;
  if (operation === 'ListQueues') return [{ action, resource: '*' }];
  if (operation === 'GetQueueUrl' || operation === 'CreateQueue') return [{ action, resource: names.queueArn(String(body.QueueName)) }];
  return [{ action, resource: names.queueArn(String(body.QueueUrl ?? '')) }];
}

function statesRequests(operation: string, body: Body): AccessRequest[] {
  const resource = body.stateMachineArn ?? body.executionArn ?? '*';
  return [{ action: `states:${operation}`, resource: String(resource) }];
}

/**
 * KMS authorizes on the key: the one `KeyId` names (a key id or ARN), or for Decrypt the one the ciphertext was made
 * with (https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html, read 2026-12-01),
 * under its key policy and the caller's role policies together
 * (https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html, read 2026-12-01).
 */
function kmsRequests(operation: string, body: Body, names: ResourceNames): AccessRequest[] {
  const keyArn = (keyId: unknown) => {
    const text = String(keyId ?? '');
    if (text.startsWith('arn:')) return text;
    return text ? `arn:aws:kms:${names.region}:${names.accountId}:key/${text}` : '*';
  };
  const resource = operation === 'Decrypt' && typeof body.CiphertextBlob === 'string'
    ? (names.keyOfCiphertext?.(body.CiphertextBlob) ?? keyArn(body.KeyId))
    : keyArn(body.KeyId);
  const keyPolicy = names.keyPolicy?.(resource);
  return [{ action: `kms:${operation}`, resource, ...(keyPolicy ? { resourcePolicy: keyPolicy } : {}) }];
}

/** The IAM requests one AWS JSON-protocol call makes. */
export function accessRequests(service: JsonService, operation: string, body: Body, names: ResourceNames): AccessRequest[] {
  switch (service) {
    case 'dynamodb':
      return dynamodbRequests(operation, body, names);
    case 'dynamodb-streams':
      return streamsRequests(operation, body, names);
    case 'sqs':
      return sqsRequests(operation, body, names);
    case 'states':
      return statesRequests(operation, body);
    case 'kms':
      return kmsRequests(operation, body, names);
  }
}
