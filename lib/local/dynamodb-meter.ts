import { createServer, request as httpRequest, type Server } from 'node:http';

/** Capacity DynamoDB reported for one call, by table and by `<table>/<index>`. */
export interface MeteredCall {
  operation: string;
  writeUnits: Record<string, number>;
  readUnits: Record<string, number>;
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
 * pointing AWS_ENDPOINT_URL_DYNAMODB at it. DynamoDB Local's figures follow AWS's sizing rules but
 * are not AWS's bill.
 */
export async function startDynamoDbMeter(target: string): Promise<{ endpoint: string; calls: MeteredCall[]; reset(): void; stop(): Promise<void> }> {
  const upstream = new URL(target);
  const calls: MeteredCall[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const operation = String(req.headers['x-amz-target'] ?? '').split('.').pop() ?? '';
      let body = Buffer.concat(chunks);
      const metered = READS.has(operation) || WRITES.has(operation);
      if (metered) body = Buffer.from(JSON.stringify({ ...JSON.parse(body.toString('utf8')), ReturnConsumedCapacity: 'INDEXES' }));
      const headers = { ...req.headers, 'content-length': String(body.length), host: upstream.host };
      const forward = httpRequest({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers }, (answer) => {
        const answerChunks: Buffer[] = [];
        answer.on('data', (chunk: Buffer) => answerChunks.push(chunk));
        answer.on('end', () => {
          const answerBody = Buffer.concat(answerChunks);
          if (metered && answer.statusCode === 200) calls.push(meter(operation, JSON.parse(answerBody.toString('utf8'))));
          else if (metered) calls.push({ operation: `${operation} (failed)`, writeUnits: {}, readUnits: {} });
          const { 'x-amz-crc32': _crc, ...answerHeaders } = answer.headers;
          res.writeHead(answer.statusCode ?? 500, answerHeaders);
          res.end(answerBody);
        });
      });
      forward.on('error', (error) => {
        res.writeHead(502);
        res.end(String(error));
      });
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    calls,
    reset: () => void calls.splice(0),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
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
