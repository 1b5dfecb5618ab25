import type { APIGatewayProxyResult } from 'aws-lambda';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { apiEvent, lambdaContext } from '../../support/api-events.ts';
import { createTestTables, documentClient } from '../../support/aws.ts';

export type Handler = (event: ReturnType<typeof apiEvent>, context: ReturnType<typeof lambdaContext>) => Promise<APIGatewayProxyResult>;

export interface TestTables {
  PAYMENTS_TABLE_NAME: string;
  IDEMPOTENCY_TABLE_NAME: string;
  PROCESSOR_TABLE_NAME: string;
}

export interface ApiUnderTest {
  tables: TestTables;
  createPayment: Handler;
  getPayment: Handler;
  createRefund: Handler;
  /** The DynamoDB client the handlers (and Powertools' persistence layer) send through. */
  handlerDynamoDb: DynamoDBClient;
}

/** Creates fresh tables, points the handlers' environment at them, then imports the handlers (they read env at import). */
export async function setUpApi(env: Record<string, string> = {}): Promise<ApiUnderTest> {
  const tables = (await createTestTables()) as unknown as TestTables;
  Object.assign(process.env, tables, env);
  const [createPayment, getPayment, createRefund, commons] = await Promise.all([
    import('../../../lambdas/handlers/api/create-payment.ts'),
    import('../../../lambdas/handlers/api/get-payment.ts'),
    import('../../../lambdas/handlers/api/create-refund.ts'),
    import('../../../lambdas/commons/dynamodb.ts'),
  ]);
  return {
    tables,
    createPayment: createPayment.handler,
    getPayment: getPayment.handler,
    createRefund: createRefund.handler,
    handlerDynamoDb: commons.dynamodb,
  };
}

export interface Response {
  statusCode: number;
  headers: Record<string, string>;
  /** The raw body bytes, for byte-identity checks. */
  rawBody: string;
  json: any;
}

export function toResponse(result: APIGatewayProxyResult): Response {
  const headers = Object.fromEntries(Object.entries(result.headers ?? {}).map(([k, v]) => [k, String(v)]));
  let json: unknown;
  try {
    json = JSON.parse(result.body);
  } catch {
    json = undefined;
  }
  return { statusCode: result.statusCode, headers, rawBody: result.body, json };
}

export const validPayment = (overrides: Record<string, unknown> = {}) => ({
  amount: 2500,
  currency: 'USD',
  source: 'tok_success',
  description: 'Order 1001',
  metadata: { orderId: '1001' },
  ...overrides,
});

export interface PostOptions {
  merchant?: string | null;
  key?: string | null;
  body?: unknown;
  headers?: Record<string, string>;
  isBase64Encoded?: boolean;
  remainingMs?: number;
}

function postHeaders(options: PostOptions): Record<string, string> {
  return {
    'Content-Type': 'application/json',
    ...(options.key === null || options.key === undefined ? {} : { 'Idempotency-Key': options.key }),
    ...options.headers,
  };
}

export async function postPayment(api: ApiUnderTest, options: PostOptions = {}): Promise<Response> {
  const event = apiEvent({
    method: 'POST',
    resource: '/v1/payments',
    apiKeyId: options.merchant === undefined ? 'merchant-a' : options.merchant,
    headers: postHeaders(options),
    body: 'body' in options ? options.body : validPayment(),
    isBase64Encoded: options.isBase64Encoded,
  });
  return toResponse(await api.createPayment(event, lambdaContext({ remainingMs: options.remainingMs })));
}

export async function getPaymentById(api: ApiUnderTest, id: string, merchant = 'merchant-a'): Promise<Response> {
  const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}', pathParameters: { id }, apiKeyId: merchant });
  return toResponse(await api.getPayment(event, lambdaContext()));
}

export async function postRefund(api: ApiUnderTest, paymentId: string, options: PostOptions = {}): Promise<Response> {
  const event = apiEvent({
    method: 'POST',
    resource: '/v1/payments/{id}/refunds',
    pathParameters: { id: paymentId },
    apiKeyId: options.merchant === undefined ? 'merchant-a' : options.merchant,
    headers: postHeaders(options),
    body: 'body' in options ? options.body : {},
    isBase64Encoded: options.isBase64Encoded,
  });
  return toResponse(await api.createRefund(event, lambdaContext({ remainingMs: options.remainingMs })));
}

export async function paymentItem(api: ApiUnderTest, paymentId: string) {
  const result = await documentClient().send(new GetCommand({
    TableName: api.tables.PAYMENTS_TABLE_NAME,
    Key: { PK: `PAYMENT#${paymentId}`, SK: 'PAYMENT' },
    ConsistentRead: true,
  }));
  return result.Item;
}

/** Every item in a payment's partition (payment, refunds, postings). */
export async function partitionItems(api: ApiUnderTest, paymentId: string) {
  const result = await documentClient().send(new QueryCommand({
    TableName: api.tables.PAYMENTS_TABLE_NAME,
    KeyConditionExpression: 'PK = :pk',
    ExpressionAttributeValues: { ':pk': `PAYMENT#${paymentId}` },
    ConsistentRead: true,
  }));
  return result.Items ?? [];
}

export async function scanTable(tableName: string) {
  const items: Record<string, any>[] = [];
  let exclusiveStartKey: Record<string, any> | undefined;
  do {
    const page = await documentClient().send(new ScanCommand({ TableName: tableName, ExclusiveStartKey: exclusiveStartKey, ConsistentRead: true }));
    items.push(...(page.Items ?? []));
    exclusiveStartKey = page.LastEvaluatedKey;
  } while (exclusiveStartKey);
  return items;
}

/** Deletes every idempotency record, as if the retention had passed (the TTL sweep's timing is not something to wait for). */
export async function expireAllIdempotencyRecords(api: ApiUnderTest): Promise<number> {
  const records = await scanTable(api.tables.IDEMPOTENCY_TABLE_NAME);
  await Promise.all(records.map((record) =>
    documentClient().send(new DeleteCommand({ TableName: api.tables.IDEMPOTENCY_TABLE_NAME, Key: { id: record.id } }))));
  return records.length;
}

/** Seeds a captured payment as the saga would leave it: succeeded, amountCaptured = amountRefundable = amount. */
export async function seedSucceededPayment(api: ApiUnderTest, options: { id: string; merchant?: string; amount?: number; status?: string; amountRefundable?: number }) {
  const amount = options.amount ?? 10_000;
  const now = new Date().toISOString();
  const item = {
    PK: `PAYMENT#${options.id}`,
    SK: 'PAYMENT',
    entity: 'payment',
    id: options.id,
    merchantId: options.merchant ?? 'merchant-a',
    amount,
    currency: 'EUR',
    status: options.status ?? 'succeeded',
    source: 'tok_success',
    amountCaptured: options.status === 'pending' ? 0 : amount,
    amountRefunded: 0,
    amountRefundable: options.amountRefundable ?? (options.status === 'pending' ? 0 : amount),
    requestHash: 'seeded',
    createdAt: now,
    updatedAt: now,
  };
  await documentClient().send(new PutCommand({ TableName: api.tables.PAYMENTS_TABLE_NAME, Item: item }));
  return item;
}

export interface DynamoDbCall {
  command: string;
  table: string | undefined;
}

const HOOK_NAME = 'payflowTestHook';

/**
 * Observes — and lets a test delay or fail — the real calls the handlers send to DynamoDB Local,
 * through a middleware on their client. `hook` runs before each call is sent.
 * Not a mock: every call still goes to DynamoDB Local unless the hook throws.
 */
export function interceptDynamoDb(client: DynamoDBClient, hook: (call: DynamoDbCall) => Promise<void> | void = () => undefined) {
  const calls: DynamoDbCall[] = [];
  client.middlewareStack.remove(HOOK_NAME);
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { TableName?: string; TransactItems?: Array<Record<string, { TableName?: string }>> };
      const table = input.TableName ?? Object.values(input.TransactItems?.[0] ?? {})[0]?.TableName;
      const call = { command: context.commandName ?? 'unknown', table };
      calls.push(call);
      await hook(call);
      return next(args);
    },
    { step: 'initialize', name: HOOK_NAME },
  );
  return {
    calls,
    stop: () => client.middlewareStack.remove(HOOK_NAME),
  };
}

/** A promise that a test resolves by hand. */
export function latch() {
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  return { released, release };
}

/** Polls `check` until it returns a value (not undefined) or the deadline passes. */
export async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 10_000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
