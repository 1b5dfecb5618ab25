import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';

export interface DynamoDbLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolvePort(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Starts AWS's DynamoDB Local jar (fetched at `npm install` into .dynamodb-local) in memory on a free port. */
export async function startDynamoDbLocal(options: { port?: number; dir?: string } = {}): Promise<DynamoDbLocal> {
  const dir = resolve(options.dir ?? process.env.DYNAMODB_LOCAL_DIR ?? '.dynamodb-local');
  const jar = join(dir, 'DynamoDBLocal.jar');
  if (!existsSync(jar)) throw new Error(`DynamoDB Local is missing at ${jar}: run npm install (it fetches the jar)`);
  const port = options.port ?? (await freePort());
  const child: ChildProcess = spawn(
    'java',
    // -XX:-UsePerfData: no hsperfdata counters sampled every 50 ms (only jstat-like tools read them), part of an idle JVM's CPU.
    ['-XX:-UsePerfData', `-Djava.library.path=${join(dir, 'DynamoDBLocal_lib')}`, '-jar', jar, '-inMemory', '-sharedDb', '-port', String(port), '-disableTelemetry'],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk) => (stderr += chunk));
  // A JVM outlives its parent: if this process ends without stop() (a crash, an exit), take it along.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  child.once('exit', () => process.off('exit', killOnExit));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({ endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
  // A loaded machine can take longer than the usual few seconds to start a JVM: DYNAMODB_LOCAL_START_TIMEOUT_MS.
  const startTimeoutMs = Number(process.env.DYNAMODB_LOCAL_START_TIMEOUT_MS ?? 30_000);
  const deadline = Date.now() + startTimeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`DynamoDB Local exited (${child.exitCode}): ${stderr}`);
      try {
        await client.send(new ListTablesCommand({}));
        break;
      } catch (error) {
        if (Date.now() > deadline) throw new Error(`DynamoDB Local did not answer within ${startTimeoutMs / 1000} s (DYNAMODB_LOCAL_START_TIMEOUT_MS): ${String(error)} ${stderr}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  } finally {
    client.destroy();
  }
  return {
    endpoint,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
    },
  };
}
