/**
 * The bundles keep the per-call X-Ray subsegments with the default tracing: PayflowFunction's esbuild aliases
 * (lib/constructs/payflow-function.ts, BUNDLE_ALIASES) trim cold start and must not cost the DynamoDB/SQS
 * subsegments the Powertools Tracer adds (`captureAWSv3Client`). A cdk.out bundle runs in a child process
 * with the environment Lambda gives a traced function, against DynamoDB Local; the X-Ray daemon it sends to
 * is a UDP socket of this test.
 */
import { spawn } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiEvent } from '../support/api-events.ts';
import { createTestTables, testTemplate } from '../support/aws.ts';
import { testCdkOut } from '../support/paths.ts';

interface Subsegment {
  id: string;
  name: string;
  parent_id: string;
  trace_id: string;
  aws?: { operation?: string; table_name?: string };
  http?: { response?: { status?: number } };
}

const TRACE_ROOT = '1-5759e988-bd862e3fe1be46a994272793';
const TRACE_PARENT = '53995c3f42cd8ad8';

function bundleDirOf(logicalIdPrefix: string): string {
  const resources = testTemplate().Resources as Record<string, { Type: string; Metadata?: Record<string, string> }>;
  const entry = Object.entries(resources).find(([id, resource]) => id.startsWith(logicalIdPrefix) && resource.Type === 'AWS::Lambda::Function');
  if (!entry) throw new Error(`No function ${logicalIdPrefix}* in the template`);
  return join(testCdkOut(), entry[1].Metadata!['aws:asset:path']!);
}

const daemon = createSocket('udp4');
const datagrams: string[] = [];
let tables: Record<string, string>;

beforeAll(async () => {
  daemon.on('message', (message) => datagrams.push(message.toString('utf8')));
  await new Promise<void>((resolve) => daemon.bind(0, '127.0.0.1', resolve));
  tables = await createTestTables();
});
afterAll(() => daemon.close());

/** Imports the bundle as Lambda would (tracing on at import), then invokes it once under a sampled trace header. */
async function invokeTraced(bundleDir: string, event: unknown, env: Record<string, string>): Promise<{ statusCode: number }> {
  const script = `
    const { handler } = await import(${JSON.stringify(pathToFileURL(join(bundleDir, 'index.mjs')).href)});
    process.env._X_AMZN_TRACE_ID = 'Root=${TRACE_ROOT};Parent=${TRACE_PARENT};Sampled=1';
    const context = { functionName: 'traced', awsRequestId: 'invocation-1', getRemainingTimeInMillis: () => 5000 };
    const response = await handler(${JSON.stringify(event)}, context);
    process.stdout.write(JSON.stringify({ statusCode: response.statusCode }));`;
  const { POWERTOOLS_TRACE_ENABLED: _off, ...inherited } = process.env;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    env: {
      ...inherited,
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      AWS_LAMBDA_FUNCTION_NAME: 'traced',
      LAMBDA_TASK_ROOT: bundleDir,
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
      POWERTOOLS_LOG_LEVEL: 'SILENT',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  if (code !== 0) throw new Error(`The bundle failed (${code}): ${stderr.slice(-2000)}`);
  return JSON.parse(stdout) as { statusCode: number };
}

/** The subsegments the daemon received: each datagram is the daemon header line, then one JSON document. */
function subsegments(): Subsegment[] {
  return datagrams.map((datagram) => {
    const [header, document] = datagram.split('\n');
    expect(JSON.parse(header!)).toEqual({ format: 'json', version: 1 });
    return JSON.parse(document!) as Subsegment;
  });
}

describe('a bundled function with the default tracing', () => {
  it('sends a subsegment per DynamoDB call, under the handler\'s subsegment of the invocation\'s trace', async () => {
    const paymentId = 'pay_0123456789abcdef01234567';
    const event = apiEvent({ method: 'GET', resource: '/v1/payments/{id}', pathParameters: { id: paymentId }, apiKeyId: 'traced-merchant' });
    const response = await invokeTraced(bundleDirOf('ApiGetPaymentFunction'), event, { ...tables, MERCHANT_API_KEYS: JSON.stringify([['traced-merchant', 'merchant-a']]) });
    expect(response.statusCode).toBe(404); // an unknown payment: the call reached DynamoDB Local and found nothing

    await expect.poll(() => subsegments().map((s) => s.name)).toEqual(expect.arrayContaining(['DynamoDB', '## get-payment']));
    const handlerSegment = subsegments().find((s) => s.name === '## get-payment')!;
    const dynamodb = subsegments().filter((s) => s.name === 'DynamoDB');
    expect(dynamodb).toHaveLength(1);
    expect(dynamodb[0]).toMatchObject({
      trace_id: TRACE_ROOT,
      parent_id: handlerSegment.id,
      aws: { operation: 'GetItem', table_name: tables.PAYMENTS_TABLE_NAME },
      http: { response: { status: 200 } },
    });
    expect(handlerSegment).toMatchObject({ trace_id: TRACE_ROOT, parent_id: TRACE_PARENT });
  });

  it('no bundle imports node:http as an ES module (its ESM facade loads undici at import)', () => {
    const bundles = readdirSync(testCdkOut(), { withFileTypes: true })
      .filter((entry) => entry.isDirectory() && entry.name.startsWith('asset.'))
      .map((entry) => readFileSync(join(testCdkOut(), entry.name, 'index.mjs'), 'utf8'));
    expect(bundles.length).toBeGreaterThan(20);
    for (const bundle of bundles) {
      expect(bundle).not.toMatch(/\bfrom\s*["']node:http["']/);
      expect(bundle).toContain('process.getBuiltinModule("node:http")');
    }
  });
});
