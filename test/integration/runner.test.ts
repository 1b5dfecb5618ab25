// `npm start` as a user runs it (bin/start.ts in a child process, on this run's synthesized
// assembly): one ready line, the outputs file, a working API, and a clean stop on SIGTERM that
// leaves no process behind. And a template the runner cannot run is refused by name.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PAYFLOW_LOCAL } from '../../bin/payflow-local.ts';
import { startLocalStack } from '../../tools/local-runner/runner.ts';
import { EMULATED_RESOURCE_TYPES, IGNORED_RESOURCE_TYPES, unsupportedResourceTypes } from '../../tools/local-runner/template.ts';
import { testCdkOut, testTemplatePath } from '../support/paths.ts';
import { testTemplate } from '../support/aws.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/** Every process below `pid` (Linux /proc), to check that none survives a stop. */
function descendants(pid: number): number[] {
  const found: number[] = [];
  const taskDir = `/proc/${pid}/task`;
  if (!existsSync(taskDir)) return found;
  for (const task of readdirSync(taskDir)) {
    const children = readFileSync(join(taskDir, task, 'children'), 'utf8').trim();
    for (const child of children ? children.split(/\s+/).map(Number) : []) found.push(child, ...descendants(child));
  }
  return found;
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ').trim();
  } catch {
    return '';
  }
};

/** Running (a zombie that its parent has not reaped yet has already stopped). */
const alive = (pid: number) => {
  try {
    if (/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'))) return false;
  } catch {
    return false;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const refused = (url: string) => fetch(url, { signal: AbortSignal.timeout(2_000) }).then(() => false, () => true);

describe('npm start (bin/start.ts)', () => {
  it('prints one ready line, writes the outputs file, serves the API, and stops cleanly on SIGTERM', { timeout: 180_000 }, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'payflow-start-'));
    const outputsFile = join(dir, 'outputs.json');
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'bin/start.ts', '--port', '0', '--cdk-out', testCdkOut(), '--outputs-file', outputsFile, '--log-file', join(dir, 'local.log')],
      { cwd: PROJECT_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));

    try {
      await expect.poll(() => stdout.includes('\n') || child.exitCode !== null, { timeout: 150_000, interval: 200 }).toBe(true);
      const lines = stdout.trim().split('\n');
      expect(lines, stderr).toHaveLength(1);
      const ready = /^Payflow is ready at (http:\/\/127\.0\.0\.1:\d+\/v1\/) — API key \(merchant-a\): ([A-Za-z0-9]{40}) — outputs: (.+) — console: (http:\/\/127\.0\.0\.1:\d+\/)$/.exec(lines[0]!);
      expect(ready, lines[0]).not.toBeNull();
      const [, url, apiKey, writtenTo, consoleUrl] = ready! as unknown as [string, string, string, string, string];
      // The console's page, and its API reading the stack (no payment yet).
      expect((await fetch(consoleUrl)).status).toBe(200);
      expect(await (await fetch(`${consoleUrl}api/payments`)).json()).toMatchObject({ payments: [] });
      expect(writtenTo).toBe(outputsFile);

      const outputs = JSON.parse(readFileSync(outputsFile, 'utf8')).Payflow as Record<string, string>;
      expect(outputs).toMatchObject({ ApiUrl: url, ApiKeyValueMerchantA: apiKey, LocalRegion: 'us-east-1' });
      for (const name of ['ApiKeyIdMerchantA', 'ApiKeyIdMerchantB', 'ApiKeyIdThrottleProbe', 'PaymentsTableName', 'EventsQueueUrl', 'EventsDlqUrl', 'PaymentSagaArn']) {
        expect(outputs[name], name).toBeTruthy();
      }
      expect(outputs.PaymentSagaArn).toMatch(/^arn:aws:states:us-east-1:000000000000:stateMachine:/);

      const answer = await fetch(`${url}payments/pay_000000000000000000000000`, { headers: { 'x-api-key': apiKey! } });
      expect(answer.status).toBe(404);
      expect(await answer.json()).toMatchObject({ error: { code: 'resource_not_found' } });

      const processes = new Map(descendants(child.pid!).map((pid) => [pid, commandLine(pid)]));
      expect([...processes.values()].some((command) => command.includes('DynamoDBLocal.jar'))).toBe(true);
      child.kill('SIGTERM');
      expect(await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 20_000))])).toBe(0);
      // Helpers (tsx's esbuild service) notice their parent is gone within moments; nothing may stay.
      await expect
        .poll(() => [...processes].filter(([pid]) => alive(pid)).map(([pid, command]) => `${pid} ${command}`), { timeout: 5_000, interval: 100 })
        .toEqual([]);
      for (const endpoint of [url, consoleUrl, outputs.LocalDynamoDbEndpoint!, outputs.LocalSqsEndpoint!, outputs.LocalStepFunctionsEndpoint!]) {
        expect(await refused(endpoint), endpoint).toBe(true);
      }
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});

describe('resource types', () => {
  it('every resource type of the synthesized stack is either emulated or deliberately ignored', () => {
    expect(unsupportedResourceTypes(testTemplate())).toEqual([]);
  });

  it('no type is both emulated and ignored', () => {
    expect(Object.keys(EMULATED_RESOURCE_TYPES).filter((type) => type in IGNORED_RESOURCE_TYPES)).toEqual([]);
  });

  it('a template with a type the runner does not support is refused at startup, naming the type and the resource', async () => {
    const cdkOut = mkdtempSync(join(tmpdir(), 'payflow-unsupported-'));
    cpSync(testCdkOut(), cdkOut, { recursive: true });
    const template = JSON.parse(readFileSync(testTemplatePath(), 'utf8'));
    template.Resources.SomeVpc = { Type: 'AWS::EC2::VPC', Properties: { CidrBlock: '10.0.0.0/16' } };
    writeFileSync(join(cdkOut, 'Payflow.template.json'), JSON.stringify(template));

    await expect(startLocalStack({ ...PAYFLOW_LOCAL, cdkOut, port: 0 })).rejects.toThrow(/AWS::EC2::VPC \(SomeVpc\)/);
  });
});
