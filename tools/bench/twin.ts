/**
 * The twin as a user runs it: `npm start` in a child process (its own processes: Node with the function
 * worker threads, DynamoDB Local's JVM), measured from outside — CPU time of its process tree from
 * /proc, payments offered over HTTP, their time to terminal read from the Payments table.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'node:http';
import {
  BatchGetItemCommand,
  CreateTableCommand,
  DeleteTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  type AttributeValue,
} from '@aws-sdk/client-dynamodb';

/** Linux's USER_HZ: /proc's CPU times are in these ticks (100 on every Linux this runs on). */
const CLOCK_TICKS_PER_SECOND = 100;

export interface RunningTwin {
  readonly pid: number;
  readonly apiUrl: string;
  readonly apiKeys: string[];
  readonly dynamodbEndpoint: string;
  readonly paymentsTable: string;
  stop(): Promise<void>;
}

/**
 * Starts `npm start` (bin/start.ts through tsx, as npm runs it) on free ports and waits for its ready line;
 * once more if it fails (on a machine loaded by others DynamoDB Local may miss its 30 s to answer).
 */
export async function startTwin(options: { projectDir: string; cdkOut?: string; outputsFile: string; logFile: string; timeScale?: number }): Promise<RunningTwin> {
  try {
    return await startTwinOnce(options);
  } catch (error) {
    console.error(`npm start failed, trying once more: ${error instanceof Error ? error.message.slice(0, 300) : String(error)}`);
    return startTwinOnce(options);
  }
}

async function startTwinOnce(options: { projectDir: string; cdkOut?: string; outputsFile: string; logFile: string; timeScale?: number }): Promise<RunningTwin> {
  const args = ['tsx', 'bin/start.ts', '--port', '0', '--outputs-file', options.outputsFile, '--log-file', options.logFile];
  if (options.cdkOut) args.push('--cdk-out', options.cdkOut);
  if (options.timeScale !== undefined) args.push('--time-scale', String(options.timeScale));
  // Its own process group: npx does not pass signals on to tsx, so stop() signals the whole group.
  const child: ChildProcess = spawn('npx', args, { cwd: options.projectDir, stdio: ['ignore', 'pipe', 'pipe'], env: process.env, detached: true });
  const signalGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // The group has already ended.
    }
  };
  const killOnExit = () => signalGroup('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`npm start was not ready within 120 s: ${output}`)), 120_000);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (/is ready at/.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start exited (${code}): ${output}`));
    });
  });
  const outputs = Object.values(JSON.parse(readFileSync(options.outputsFile, 'utf8')) as Record<string, Record<string, string>>)[0]!;
  const { ApiUrl: apiUrl, PaymentsTableName: paymentsTable } = outputs;
  if (!apiUrl || !paymentsTable) throw new Error(`No ApiUrl or PaymentsTableName in the outputs: ${JSON.stringify(outputs)}`);
  return {
    pid: child.pid!,
    apiUrl: apiUrl.endsWith('/') ? apiUrl : `${apiUrl}/`,
    apiKeys: Object.entries(outputs)
      .filter(([name]) => /^ApiKeyValueMerchant/.test(name))
      .map(([, value]) => value),
    dynamodbEndpoint: outputs.LocalDynamoDbEndpoint!,
    paymentsTable,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      signalGroup('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 10_000))]);
      signalGroup('SIGKILL');
      process.off('exit', killOnExit);
    },
  };
}

interface ProcessTimes {
  pid: number;
  ppid: number;
  command: string;
  /** utime + stime, in clock ticks. */
  ticks: number;
}

function readProcesses(): Map<number, ProcessTimes> {
  const processes = new Map<number, ProcessTimes>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(join('/proc', entry, 'stat'), 'utf8');
      // The command is in parentheses and may contain spaces: split after the last ')'.
      const close = stat.lastIndexOf(')');
      const command = stat.slice(stat.indexOf('(') + 1, close);
      const fields = stat.slice(close + 2).split(' ');
      // fields[0] is field 3 (state): ppid is field 4, utime 14, stime 15.
      processes.set(Number(entry), { pid: Number(entry), ppid: Number(fields[1]), command, ticks: Number(fields[11]) + Number(fields[12]) });
    } catch {
      // The process ended while being read.
    }
  }
  return processes;
}

function tree(root: number, processes: Map<number, ProcessTimes>): ProcessTimes[] {
  const members: ProcessTimes[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const process = processes.get(pid);
    if (process) members.push(process);
    for (const child of processes.values()) if (child.ppid === pid) queue.push(child.pid);
  }
  return members;
}

export interface IdleCpu {
  seconds: number;
  /** Percent of one core, all the processes of the tree together. */
  totalPercent: number;
  /** Per command (node, java, ...), percent of one core. */
  byCommand: Record<string, number>;
}

/** CPU seconds a process tree used while `work` ran, per command (node, java, ...), and the wall-clock seconds. */
export async function treeCpuDuring(root: number, work: () => Promise<void>): Promise<{ seconds: number; cpuSeconds: Record<string, number> }> {
  const before = new Map(tree(root, readProcesses()).map((p) => [p.pid, p]));
  const started = performance.now();
  await work();
  const seconds = (performance.now() - started) / 1000;
  const cpuSeconds: Record<string, number> = {};
  for (const p of tree(root, readProcesses())) cpuSeconds[p.command] = (cpuSeconds[p.command] ?? 0) + (p.ticks - (before.get(p.pid)?.ticks ?? 0)) / CLOCK_TICKS_PER_SECOND;
  return { seconds, cpuSeconds };
}

/**
 * CPU used by a process tree over `seconds`, from /proc/<pid>/stat's utime + stime (what the processes
 * themselves used: other load on the machine does not count, unlike wall-clock probes).
 */
export async function processTreeCpu(root: number, seconds: number): Promise<IdleCpu> {
  const used = await treeCpuDuring(root, () => new Promise((resolve) => setTimeout(resolve, seconds * 1000)));
  const percent = (cpu: number) => (100 * cpu) / used.seconds;
  return {
    seconds: used.seconds,
    totalPercent: percent(Object.values(used.cpuSeconds).reduce((sum, cpu) => sum + cpu, 0)),
    byCommand: Object.fromEntries(Object.entries(used.cpuSeconds).map(([command, cpu]) => [command, percent(cpu)])),
  };
}

const localClient = (endpoint: string) =>
  new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });

/**
 * DynamoDB Local's raw rate for the conditional writes a payment makes: conditional PutItems of
 * payment-sized items (attribute_not_exists, as the idempotency record and the payment are written)
 * into a table with a stream like the Payments table's, `concurrency` at a time, for `seconds`.
 */
export async function rawConditionalWriteRate(endpoint: string, concurrency: number, seconds: number): Promise<{ perSecond: number; writes: number }> {
  const client = localClient(endpoint);
  const table = `bench-raw-writes-${Date.now()}`;
  await client.send(
    new CreateTableCommand({
      TableName: table,
      BillingMode: 'PAY_PER_REQUEST',
      KeySchema: [
        { AttributeName: 'PK', KeyType: 'HASH' },
        { AttributeName: 'SK', KeyType: 'RANGE' },
      ],
      AttributeDefinitions: [
        { AttributeName: 'PK', AttributeType: 'S' },
        { AttributeName: 'SK', AttributeType: 'S' },
      ],
      StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
    }),
  );
  const item = (n: number): Record<string, AttributeValue> => ({
    PK: { S: `PAYMENT#bench-${n}` },
    SK: { S: 'PAYMENT' },
    entity: { S: 'payment' },
    id: { S: `pay_${n.toString(36).padStart(22, '0')}` },
    merchantId: { S: 'merchant-a' },
    amount: { N: '2500' },
    currency: { S: 'EUR' },
    status: { S: 'pending' },
    source: { S: 'tok_success' },
    description: { S: 'bench' },
    createdAt: { S: new Date().toISOString() },
    updatedAt: { S: new Date().toISOString() },
  });
  let next = 0;
  const put = () =>
    client.send(new PutItemCommand({ TableName: table, Item: item(next++), ConditionExpression: 'attribute_not_exists(PK)' }));
  for (let i = 0; i < 50; i++) await put(); // warm-up: connections, the JVM's JIT
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let writes = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) {
        await put();
        writes += 1;
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  await client.send(new DeleteTableCommand({ TableName: table }));
  client.destroy();
  return { perSecond: writes / elapsed, writes };
}

const agent = new Agent({ keepAlive: true, maxSockets: 64 });

/** POST /payments over HTTP (keep-alive): the status and the payment id. */
export function postPayment(apiUrl: string, apiKey: string, idempotencyKey: string, body: unknown): Promise<{ status: number; id?: string }> {
  const data = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL('payments', apiUrl),
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'x-api-key': apiKey, 'idempotency-key': idempotencyKey, 'content-length': Buffer.byteLength(data) },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode ?? 0, id: (JSON.parse(text) as { id?: string }).id });
          } catch {
            resolve({ status: res.statusCode ?? 0 });
          }
        });
      },
    );
    req.on('error', reject);
    req.end(data);
  });
}

export interface PaymentOutcome {
  id: string;
  status: string;
  createdAt: number;
  updatedAt: number;
}

/** Reads payments' status and timestamps from the table (consistent reads). */
export async function readPayments(endpoint: string, table: string, ids: string[]): Promise<PaymentOutcome[]> {
  const client = localClient(endpoint);
  try {
    const outcomes: PaymentOutcome[] = [];
    for (const id of ids) {
      const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { PK: { S: `PAYMENT#${id}` }, SK: { S: 'PAYMENT' } }, ConsistentRead: true }));
      if (Item) outcomes.push({ id, status: Item.status?.S ?? '?', createdAt: Date.parse(Item.createdAt?.S ?? ''), updatedAt: Date.parse(Item.updatedAt?.S ?? '') });
    }
    return outcomes;
  } finally {
    client.destroy();
  }
}

/** Those of `ids` whose payment is not terminal yet (BatchGetItem of their status, 100 at a time). */
export async function openPayments(endpoint: string, table: string, ids: readonly string[]): Promise<string[]> {
  const client = localClient(endpoint);
  try {
    const open: string[] = [];
    for (let start = 0; start < ids.length; start += 100) {
      let keys: Array<Record<string, AttributeValue>> = ids.slice(start, start + 100).map((id) => ({ PK: { S: `PAYMENT#${id}` }, SK: { S: 'PAYMENT' } }));
      while (keys.length > 0) {
        const { Responses, UnprocessedKeys } = await client.send(
          new BatchGetItemCommand({ RequestItems: { [table]: { Keys: keys, ProjectionExpression: 'id, #status', ExpressionAttributeNames: { '#status': 'status' } } } }),
        );
        for (const item of Responses?.[table] ?? []) if (['pending', 'processing'].includes(item.status?.S ?? '')) open.push(item.id?.S ?? '');
        keys = UnprocessedKeys?.[table]?.Keys ?? [];
      }
    }
    return open;
  } finally {
    client.destroy();
  }
}

/** Waits (polling the table every `everyMs`) until the payment is terminal; its outcome. */
export async function waitTerminal(endpoint: string, table: string, id: string, timeoutMs: number, everyMs = 10): Promise<PaymentOutcome & { observedAt: number }> {
  const client = localClient(endpoint);
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      const { Item } = await client.send(new GetItemCommand({ TableName: table, Key: { PK: { S: `PAYMENT#${id}` }, SK: { S: 'PAYMENT' } }, ConsistentRead: true }));
      const status = Item?.status?.S;
      if (status === 'succeeded' || status === 'failed') {
        return { id, status, createdAt: Date.parse(Item!.createdAt!.S!), updatedAt: Date.parse(Item!.updatedAt!.S!), observedAt: Date.now() };
      }
      if (Date.now() > deadline) throw new Error(`payment ${id} not terminal after ${timeoutMs} ms (status ${status})`);
      await new Promise((resolve) => setTimeout(resolve, everyMs));
    }
  } finally {
    client.destroy();
  }
}

