import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import { DescribeTableCommand, DynamoDBClient, GetItemCommand, type AttributeValue, type TableDescription } from '@aws-sdk/client-dynamodb';

/** Capacity of one call, by table and by `<table>/<index>`. */
export interface MeteredCall {
  operation: string;
  writeUnits: Record<string, number>;
  readUnits: Record<string, number>;
  /** For TransactWriteItems, whose units are AWS's rules applied to the items: what DynamoDB Local reported instead. */
  localWriteUnits?: Record<string, number>;
}

interface ConsumedCapacity {
  TableName?: string;
  CapacityUnits?: number;
  ReadCapacityUnits?: number;
  WriteCapacityUnits?: number;
  Table?: { ReadCapacityUnits?: number; WriteCapacityUnits?: number; CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { ReadCapacityUnits?: number; WriteCapacityUnits?: number; CapacityUnits?: number }>;
}

const READS = new Set(['GetItem', 'Query', 'Scan', 'BatchGetItem', 'TransactGetItems']);
const WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem', 'TransactWriteItems']);

/**
 * An HTTP proxy in front of DynamoDB Local that asks for `ReturnConsumedCapacity: INDEXES` on every
 * data call and records what came back, so any code — bundled Lambdas included — can be metered by
 * pointing AWS_ENDPOINT_URL_DYNAMODB at it. DynamoDB Local's single-item figures follow AWS's sizing
 * rules; its transactional ones do not (a one-item transaction reports 4 units where AWS charges 2),
 * so a TransactWriteItems is metered by {@link transactionWriteUnits} on the items before and after.
 */
export async function startDynamoDbMeter(target: string): Promise<{ endpoint: string; calls: MeteredCall[]; reset(): void; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const calls: MeteredCall[] = [];
  const items = itemReader(target);
  const forward = (req: IncomingMessage, body: Buffer) =>
    new Promise<{ statusCode: number; headers: Record<string, string | string[] | undefined>; body: Buffer }>((resolve, reject) => {
      const headers = { ...req.headers, 'content-length': String(body.length), host: upstream.host };
      const request = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
        answer.on('end', () => {
          const { 'x-amz-crc32': _crc, ...answerHeaders } = answer.headers;
          resolve({ statusCode: answer.statusCode ?? 500, headers: answerHeaders, body: Buffer.concat(answerChunks) });
        });
      });
      request.on('error', reject);
      request.end(body);
    });
  const handle = async (req: IncomingMessage, body: Buffer) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
    if (!READS.has(operation) && !WRITES.has(operation)) return forward(req, body);
    const input = { ...JSON.parse(body.toString('utf8')), ReturnConsumedCapacity: 'INDEXES' };
    // A transaction whose items cannot be read (a missing table) goes through all the same: the proxy must not change
    // DynamoDB's answer (ResourceNotFoundException), only meter what it can.
    const writes = operation === 'TransactWriteItems' ? await items.writesOf(input.TransactItems ?? []).catch(() => undefined) : undefined;
    const answer = await forward(req, Buffer.from(JSON.stringify(input)));
    if (answer.statusCode !== 200) {
      calls.push({ operation: `${operation} (failed)`, writeUnits: {}, readUnits: {} });
      return answer;
    }
    const call = meter(operation, JSON.parse(answer.body.toString('utf8')));
    if (writes) calls.push({ ...call, writeUnits: await writes.unitsAfterCommit(), localWriteUnits: call.writeUnits });
    else calls.push(call);
    return answer;
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      handle(req, Buffer.concat(chunks)).then(
        (answer) => {
          res.writeHead(answer.statusCode, answer.headers);
          res.end(answer.body);
        },
        (error: unknown) => {
          res.writeHead(502);
          res.end(String(error));
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    reset: () => void calls.splice(0),
    stop: () =>
      new Promise((resolve) => {
        items.destroy();
        server.close(() => resolve());
      }),
  };
}

function meter(operation: string, output: { ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[] }): MeteredCall {
  const writeUnits: Record<string, number> = {};
  const readUnits: Record<string, number> = {};
  const consumed = output.ConsumedCapacity === undefined ? [] : [output.ConsumedCapacity].flat();
  const units = WRITES.has(operation) ? writeUnits : readUnits;
  const add = (name: string, value = 0) => void (units[name] = (units[name] ?? 0) + value);
  for (const capacity of consumed) {
    const table = capacity.TableName ?? '?';
    add(table, capacity.Table?.CapacityUnits ?? capacity.CapacityUnits);
    for (const [index, indexCapacity] of Object.entries(capacity.GlobalSecondaryIndexes ?? {})) add(`${table}/${index}`, indexCapacity.CapacityUnits);
  }
  return { operation, writeUnits, readUnits };
}

type Item = Record<string, AttributeValue>;
type TransactItem = Partial<Record<'Put' | 'Update' | 'Delete' | 'ConditionCheck', { TableName: string; Item?: Item; Key?: Item }>>;

/** Reads the items a transaction touches, before and after it commits, from DynamoDB Local itself. */
function itemReader(endpoint: string) {
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'meter', secretAccessKey: 'meter' } });
  const tables = new Map<string, Promise<TableDescription>>();
  const describe = (name: string) => {
    if (!tables.has(name)) tables.set(name, client.send(new DescribeTableCommand({ TableName: name })).then(({ Table }) => Table!));
    return tables.get(name)!;
  };
  const read = async (tableName: string, key: Item) => (await client.send(new GetItemCommand({ TableName: tableName, Key: key, ConsistentRead: true }))).Item;
  return {
    async writesOf(transactItems: TransactItem[]) {
      const touched = await Promise.all(
        transactItems.map(async (entry) => {
          const [kind, action] = Object.entries(entry)[0] as [keyof TransactItem, { TableName: string; Item?: Item; Key?: Item }];
          const table = await describe(action.TableName);
          const key = action.Key ?? Object.fromEntries(table.KeySchema!.map(({ AttributeName }) => [AttributeName!, action.Item![AttributeName!]!]));
          return { kind, table, key, before: await read(action.TableName, key) };
        }),
      );
      return {
        async unitsAfterCommit() {
          const units: Record<string, number> = {};
          for (const { kind, table, key, before } of touched) {
            const after = kind === 'ConditionCheck' ? before : await read(table.TableName!, key);
            for (const [name, value] of Object.entries(transactionWriteUnits(table, before, after))) units[name] = (units[name] ?? 0) + value;
          }
          return units;
        },
      };
    },
    destroy: () => client.destroy(),
  };
}

/**
 * AWS's charge for one item of a TransactWriteItems: 2 write units per started KB of the larger of its
 * before and after images (one write to prepare, one to commit: "Capacity management for transactions",
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html), and for each
 * GSI the index writes the change causes (an entry added: its projected size; removed: 1; key changed:
 * delete + add; projected attributes changed: its projected size) at the standard rate, not doubled: the
 * two-phase protocol covers the items, and "after a transaction completes, its changes start propagating
 * to global secondary indexes (GSIs), streams, and backups" (same page), as any write's do. Measured on
 * real DynamoDB likewise (the 2× factor on the table's share alone, an index write inside a transaction
 * costing what it costs outside one): https://github.com/nubo-db/dynoxide/pull/188.
 */
export function transactionWriteUnits(table: TableDescription, before: Item | undefined, after: Item | undefined): Record<string, number> {
  const name = table.TableName!;
  const units: Record<string, number> = { [name]: 2 * writeUnitsFor(Math.max(itemSize(before), itemSize(after))) };
  const tableKeys = table.KeySchema!.map(({ AttributeName }) => AttributeName!);
  for (const index of table.GlobalSecondaryIndexes ?? []) {
    const indexKeys = index.KeySchema!.map(({ AttributeName }) => AttributeName!);
    const projection = index.Projection?.ProjectionType === 'ALL' ? undefined : [...tableKeys, ...indexKeys, ...(index.Projection?.NonKeyAttributes ?? [])];
    const entry = (item: Item | undefined) =>
      item && indexKeys.every((attribute) => item[attribute] !== undefined)
        ? projection ? Object.fromEntries(projection.filter((attribute) => item[attribute] !== undefined).map((attribute) => [attribute, item[attribute]!])) : item
        : undefined;
    const [old, current] = [entry(before), entry(after)];
    const sameKeys = old && current && indexKeys.every((attribute) => JSON.stringify(old[attribute]) === JSON.stringify(current[attribute]));
    const indexWrites =
      !old && !current ? 0
      : !old ? writeUnitsFor(itemSize(current))
      : !current ? 1
      : !sameKeys ? 1 + writeUnitsFor(itemSize(current))
      : JSON.stringify(old) === JSON.stringify(current) ? 0
      : writeUnitsFor(itemSize(current));
    if (indexWrites > 0) units[`${name}/${index.IndexName}`] = indexWrites;
  }
  return units;
}

const writeUnitsFor = (bytes: number) => Math.max(1, Math.ceil(bytes / 1024));

/** Item size as DynamoDB counts it: attribute names plus values (numbers approximated, as AWS documents). */
export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((size, [attribute, value]) => size + Buffer.byteLength(attribute) + valueSize(value), 0);
}

function valueSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return Math.ceil(Math.max(1, value.N.replace(/[-.]/g, '').replace(/^0+|0+$/g, '').length) / 2) + 1;
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.SS) return value.SS.reduce((size, member) => size + Buffer.byteLength(member), 0);
  if (value.NS) return value.NS.reduce((size, member) => size + valueSize({ N: member }), 0);
  if (value.BS) return value.BS.reduce((size, member) => size + member.length, 0);
  if (value.L) return 3 + value.L.reduce((size, element) => size + 1 + valueSize(element), 0);
  if (value.M) return 3 + Object.entries(value.M).reduce((size, [attribute, element]) => size + 1 + Buffer.byteLength(attribute) + valueSize(element), 0);
  return 0;
}
