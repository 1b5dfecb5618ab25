// The local Lambda runtime (tools/local-runner/lambda/runtime.ts): real worker threads running a bundled
// module, as the runner runs every function of the stack.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LambdaFunctionError, LocalLambdaRuntime } from '../../tools/local-runner/lambda/runtime.ts';
import { fixtureFunction, writeFixtureAssets } from './runner-fixtures.ts';

let runtime: LocalLambdaRuntime;
const logLines: Array<[string, string]> = [];

beforeAll(() => {
  const assets = writeFixtureAssets();
  runtime = new LocalLambdaRuntime(
    [
      fixtureFunction(assets.ok, 'first', { environment: { FIXTURE_VALUE: 'first-value', AWS_REGION: 'eu-west-1' }, memoryMb: 512 }),
      fixtureFunction(assets.ok, 'second', { environment: { FIXTURE_VALUE: 'second-value', AWS_REGION: 'us-east-1' } }),
      fixtureFunction(assets.ok, 'short', { timeoutSeconds: 1 }),
      fixtureFunction(assets.ok, 'single', { maxConcurrency: 1 }),
      fixtureFunction(assets.broken, 'broken'),
    ],
    { logSink: (functionName, line) => logLines.push([functionName, line]) },
  );
});
afterAll(() => runtime.stop());

const failureOf = (promise: Promise<unknown>) => promise.then(
  () => {
    throw new Error('the invocation succeeded');
  },
  (error: unknown) => error as LambdaFunctionError,
);

describe('what a handler gets', () => {
  it('a Lambda context: function name, ARN, memory, a request id per invocation, the time left', async () => {
    const [one, two] = (await Promise.all([runtime.invoke('first', { action: 'context' }), runtime.invoke('first', { action: 'context' })])) as Array<Record<string, unknown>>;
    expect(one).toMatchObject({
      functionName: 'first',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:first',
      memoryLimitInMB: '512',
      logGroupName: '/aws/lambda/first',
      envFunctionName: 'first',
    });
    expect(one!.awsRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(one!.awsRequestId).not.toBe(two!.awsRequestId);
    expect(one!.remainingMs).toBeGreaterThan(0);
    expect(one!.remainingMs).toBeLessThanOrEqual(5_000);
  });

  it("its own function's environment, not the runner's nor another function's, and no AWS_EXECUTION_ENV (so the Tracer stays off)", async () => {
    const first = (await runtime.invoke('first', { action: 'context' })) as Record<string, unknown>;
    const second = (await runtime.invoke('second', { action: 'context' })) as Record<string, unknown>;
    expect(first).toMatchObject({ value: 'first-value', region: 'eu-west-1', executionEnv: null });
    expect(second).toMatchObject({ value: 'second-value', region: 'us-east-1', executionEnv: null });
    expect(process.env.FIXTURE_VALUE).toBeUndefined();
  });

  it('the event and the result travel as JSON, as they do to and from Lambda (undefined becomes null)', async () => {
    expect(await runtime.invoke('second', { action: 'echo-me', nested: { n: 1 } })).toMatchObject({ echo: { action: 'echo-me', nested: { n: 1 } } });
    expect(await runtime.invoke('second', { action: 'undefined' })).toBeNull();
  });

  it('is found by logical id, function name, ARN or qualified ARN', async () => {
    for (const reference of ['second', 'arn:aws:lambda:us-east-1:000000000000:function:second', 'arn:aws:lambda:us-east-1:000000000000:function:second:$LATEST']) {
      expect(runtime.find(reference)?.functionName).toBe('second');
    }
    const missing = await failureOf(runtime.invoke('nope', {}));
    expect(missing.errorType).toBe('ResourceNotFoundException');
  });

  it("sends the handler's output to the log sink, line by line, with the function's name", async () => {
    await runtime.invoke('second', { action: 'log' });
    await expect.poll(() => logLines.some(([name, line]) => name === 'second' && line === 'a line from the handler')).toBe(true);
  });
});

describe('how invocations end', () => {
  it('a thrown error is a function error named by the error (what Step Functions Retry/Catch match); the environment is kept', async () => {
    const before = ((await runtime.invoke('second', { action: 'echo' })) as { invocations: number }).invocations;
    const error = await failureOf(runtime.invoke('second', { action: 'throw' }));
    expect(error).toBeInstanceOf(LambdaFunctionError);
    expect(error).toMatchObject({ name: 'PaymentDeclined', errorType: 'PaymentDeclined', errorMessage: 'card_declined' });
    expect(error.toPayload()).toMatchObject({ errorType: 'PaymentDeclined', errorMessage: 'card_declined', trace: expect.any(Array) });
    const after = ((await runtime.invoke('second', { action: 'echo' })) as { invocations: number }).invocations;
    expect(after).toBeGreaterThan(before);
  });

  it.each(['hang', 'spin'])('an invocation past the timeout (%s) fails with Sandbox.Timedout and its environment is replaced', async (action) => {
    const started = Date.now();
    const error = await failureOf(runtime.invoke('short', { action }));
    expect(error.errorType).toBe('Sandbox.Timedout');
    expect(error.errorMessage).toMatch(/Task timed out after 1\.00 seconds/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(950);
    expect(Date.now() - started).toBeLessThan(5_000);
    // A fresh environment: its module state starts over.
    expect(await runtime.invoke('short', { action: 'echo' })).toMatchObject({ invocations: 1 });
  });

  it('a runtime that exits fails the invocation (Runtime.ExitError); the next one gets a new environment', async () => {
    const error = await failureOf(runtime.invoke('second', { action: 'exit' }));
    expect(error.errorType).toBe('Runtime.ExitError');
    expect(await runtime.invoke('second', { action: 'echo' })).toMatchObject({ invocations: 1 });
  });

  it('a bundle that cannot be imported fails every invocation with Runtime.ImportModuleError', async () => {
    const error = await failureOf(runtime.invoke('broken', {}));
    expect(error.errorType).toBe('Runtime.ImportModuleError');
    expect(error.errorMessage).toMatch(/does-not-exist/);
  });

  // As Lambda: an init past its Init phase (10 s there, 200 ms here) is not an error of its own; it goes on inside
  // the invocation, whose timeout then counts it (a loaded machine's slow imports must not fail invocations that
  // a caller would not retry).
  describe('an init longer than its Init phase', () => {
    let slow: LocalLambdaRuntime;
    beforeAll(() => {
      const { slowInit } = writeFixtureAssets();
      slow = new LocalLambdaRuntime(
        [
          fixtureFunction(slowInit, 'slow-init', { timeoutSeconds: 2, environment: { FIXTURE_INIT_MS: '700' } }),
          fixtureFunction(slowInit, 'endless-init', { timeoutSeconds: 1, environment: { FIXTURE_INIT_MS: '60000' } }),
          fixtureFunction(slowInit, 'slower-init', { timeoutSeconds: 2, maxConcurrency: 1, environment: { FIXTURE_INIT_MS: '2500' } }),
        ],
        { initPhaseMs: 200 },
      );
    });
    afterAll(() => slow.stop());

    it('is waited for within the invocation, whose timeout started at the end of the Init phase', async () => {
      const { remainingMs } = (await slow.invoke('slow-init', {})) as { remainingMs: number };
      expect(remainingMs).toBeGreaterThan(0);
      expect(remainingMs).toBeLessThanOrEqual(2_000 - 400);
      // The environment is kept: the next invocation has its whole timeout.
      expect(((await slow.invoke('slow-init', {})) as { remainingMs: number }).remainingMs).toBeGreaterThan(1_800);
    });

    it('that outlasts the invocation timeout fails it with Sandbox.Timedout (what callers retry), not an error of its own; the init goes on for the next one', async () => {
      const started = Date.now();
      const error = await failureOf(slow.invoke('endless-init', {}));
      expect(error.errorType).toBe('Sandbox.Timedout');
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_100);
    });

    it('an invocation that timed out waiting leaves the init going on: the next one gets that environment, not a new init', async () => {
      // A 2.5 s init outlasts the first invocation (200 ms phase + 2 s); a new environment would time out the same way. The
      // second invocation's 2 s leave the init 1.7 s to spare on a loaded machine (a worker can take that long to start).
      expect((await failureOf(slow.invoke('slower-init', {}))).errorType).toBe('Sandbox.Timedout');
      expect(((await slow.invoke('slower-init', {})) as { remainingMs: number }).remainingMs).toBeGreaterThan(0);
    });
  });
});

describe('concurrency', () => {
  it('one invocation per environment: with a concurrency of 1, a second invocation waits for the first', async () => {
    const started = Date.now();
    const results = (await Promise.all([runtime.invoke('single', { action: 'sleep', ms: 400 }), runtime.invoke('single', { action: 'sleep', ms: 400 })])) as Array<{ invocations: number }>;
    expect(Date.now() - started).toBeGreaterThanOrEqual(780);
    expect(results.map((result) => result.invocations).sort()).toEqual([1, 2]);
  });

  it("the twin's environments limit holds below a higher concurrency: a third invocation waits for one of two environments", async () => {
    const capped = new LocalLambdaRuntime([fixtureFunction(writeFixtureAssets().ok, 'capped', { maxConcurrency: 10 }), fixtureFunction(writeFixtureAssets().ok, 'one', { maxConcurrency: 1 })], { maxEnvironmentsPerFunction: 2 });
    try {
      expect([capped.environmentsLimit('capped'), capped.environmentsLimit('one')]).toEqual([2, 1]);
      const results = (await Promise.all(Array.from({ length: 3 }, () => capped.invoke('capped', { action: 'sleep', ms: 300 })))) as Array<{ invocations: number }>;
      // Two environments: one of them ran two of the three invocations.
      expect(results.map((result) => result.invocations).sort()).toEqual([1, 1, 2]);
    } finally {
      await capped.stop();
    }
  });

  it('up to maxConcurrency environments run side by side', async () => {
    // Start the four environments first, so that only the handlers' own time is measured.
    await Promise.all(Array.from({ length: 4 }, () => runtime.invoke('second', { action: 'sleep', ms: 200 })));
    const started = Date.now();
    await Promise.all(Array.from({ length: 4 }, () => runtime.invoke('second', { action: 'sleep', ms: 600 })));
    // One after the other would take 2.4 s.
    expect(Date.now() - started).toBeLessThan(1_800);
  });
});
