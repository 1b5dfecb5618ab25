import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as nodeModule from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { Readable } from 'node:stream';
import { requestRefusal, responseRefusal, type InvocationType } from '../limits/lambda.ts';
import type { InvokeMessage, SerializedLambdaError, WorkerInit, WorkerMessage } from './worker.ts';

const WORKER_FILE = new URL('./worker.ts', import.meta.url);
let workerScript: URL | undefined;
/**
 * worker.ts stripped of its types once, here, and run from a data: URL: given the .ts file, Node loads its type
 * stripper into every new isolate — measured ~100 ms of CPU per execution environment's init, on top of the
 * ~110 ms a bare worker costs. Where Node has no stripTypeScriptTypes (before 22.13), each worker strips it.
 */
function workerScriptUrl(): URL {
  if (workerScript) return workerScript;
  const strip = (nodeModule as { stripTypeScriptTypes?: (code: string, options: { mode: 'strip'; sourceUrl: string }) => string }).stripTypeScriptTypes;
  if (!strip) return (workerScript = WORKER_FILE);
  // Its ExperimentalWarning (once per process) would tell a user of the twin nothing.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => undefined;
  try {
    const code = strip(readFileSync(WORKER_FILE, 'utf8'), { mode: 'strip', sourceUrl: WORKER_FILE.href });
    return (workerScript = new URL(`data:text/javascript,${encodeURIComponent(code)}`));
  } finally {
    process.emitWarning = emitWarning;
  }
}
/** The runner's own dependencies (resolved from here) stand in for the packages the Lambda runtime provides (the AWS SDK). */
const RUNTIME_MODULES_FROM = import.meta.url;
/**
 * Lambda gives a function's Init phase (importing the bundle) 10 s; an init that takes longer is run again at
 * the first invocation, within the function's timeout ("Lambda execution environment lifecycle", Init phase,
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html, checked 2026-12-02): past it
 * the invocation fails with Sandbox.Timedout, as any timed-out invocation.
 */
const INIT_TIMEOUT_MS = 10_000;
/**
 * How long an invocation waits for a busy environment of its function to come free before another
 * environment is started (up to maxConcurrency). Lambda starts one at once; the twin shares a few cores,
 * where an init (importing a bundle: 100+ ms of CPU) costs more than waiting for a warm environment, and a
 * burst of inits starves the invocations already running.
 */
const SCALE_OUT_DELAY_MS = 50;
/**
 * Execution environments the twin runs at most per function, below its concurrency limit: twice the cores
 * (at least 4). Each environment is an isolate that imports its bundle and warms up its own JIT; on a few
 * shared cores more of them add no throughput, only inits and cold code — under load the pools grew to their
 * limits (10, or 20 with reserved concurrency: about 80 isolates on 2 cores) and a payment cost twice the CPU.
 * Invocations past it wait for a free environment, as they do past a concurrency limit below it.
 */
export const DEFAULT_ENVIRONMENTS_PER_FUNCTION = Math.max(4, 2 * availableParallelism());

/** A function as the runner deploys it: what the template says, resolved to local values. */
export interface LocalFunction {
  logicalId: string;
  functionName: string;
  arn: string;
  /** The bundled module, e.g. `<cdk.out>/asset.<hash>/index.mjs`. */
  entryFile: string;
  handlerExport: string;
  timeoutSeconds: number;
  memoryMb: number;
  /** The function's environment (template variables plus the runner's endpoints and credentials). */
  environment: Record<string, string>;
  /**
   * How many invocations may run at once (one execution environment each); more wait for a free one. The twin
   * runs at most its own environments limit of them (LocalLambdaRuntime's `maxEnvironmentsPerFunction`).
   */
  maxConcurrency: number;
}

/** A function error, as the Invoke API reports it (`FunctionError: Unhandled` with this payload). */
export class LambdaFunctionError extends Error {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly trace: string[];

  constructor(error: SerializedLambdaError) {
    super(error.errorMessage);
    this.name = error.errorType;
    this.errorType = error.errorType;
    this.errorMessage = error.errorMessage;
    this.trace = error.trace;
  }

  /** The invocation's response payload, as a caller of Invoke would read it. */
  toPayload(): SerializedLambdaError {
    return { errorType: this.errorType, errorMessage: this.errorMessage, trace: this.trace };
  }
}

export type FunctionLogSink = (functionName: string, line: string) => void;

/** Variables one execution environment gets over its function's (e.g. credentials of its own), by environment id. */
export type EnvironmentVariablesFor = (fn: LocalFunction, environmentId: string) => Record<string, string>;

interface Environment {
  /** `<function logical id>#<n>`: names it to the fault injector (which may kill it). */
  readonly id: string;
  readonly worker: Worker;
  readonly ready: Promise<void>;
  /** When its Init phase (INIT_TIMEOUT_MS from its start) ends; `readyAt`, when its init finished. */
  readonly initPhaseEnds: number;
  readyAt?: number;
  readonly logStreamName: string;
  pending?: { id: number; resolve: (payload: unknown) => void; reject: (error: LambdaFunctionError) => void };
  dead: boolean;
}

/** A function's execution environments: reused one invocation at a time, created on demand, discarded on a crash or timeout. */
class FunctionPool {
  private readonly idle: Environment[] = [];
  private readonly all = new Set<Environment>();
  private readonly waiting: Array<(environment: Environment) => void> = [];
  private nextId = 0;
  private stopped = false;

  private environments = 0;

  constructor(
    readonly fn: LocalFunction,
    private readonly logSink: FunctionLogSink,
    private readonly environmentFor: EnvironmentVariablesFor | undefined,
    private readonly initPhaseMs: number,
    /** The most environments at once: the function's concurrency, within the twin's limit. */
    readonly maxEnvironments: number,
  ) {}

  /** Kills the environment `id` as a crash would (its invocation fails with Runtime.ExitError); false when it is not this pool's or gone. */
  kill(id: string): boolean {
    const environment = [...this.all].find((candidate) => candidate.id === id);
    if (!environment || environment.dead) return false;
    void environment.worker.terminate();
    return true;
  }

  /** Runs one invocation of `payload` (the event as JSON text). */
  async invoke(payload: string): Promise<unknown> {
    const environment = await this.acquire();
    const startedAt = Date.now();
    let discard = false;
    try {
      const deadline = await this.initialized(environment, startedAt);
      return await this.run(environment, payload, deadline);
    } catch (error) {
      discard = environment.dead || (error instanceof LambdaFunctionError && error.errorType.startsWith('Runtime.'));
      throw error;
    } finally {
      this.release(environment, discard || environment.dead);
    }
  }

  /**
   * Waits for the environment's init. Within its Init phase it is free; an init past it is, on AWS, run again
   * inside the invocation and counted in its timeout. The twin lets the same init go on: the invocation waits
   * for it until its own timeout, counted from the end of the Init phase (or from the invocation's start, if
   * later), then fails with Sandbox.Timedout. The environment is kept, still initializing, for the next
   * invocation: here a slow init is the shared machine's, not the function's, and starting it over would only
   * spend the CPU again (where Lambda would init a new one). Resolves with the invocation's deadline when its
   * clock started before the function ran, else undefined (the whole timeout is the run's).
   */
  private async initialized(environment: Environment, startedAt: number): Promise<number | undefined> {
    if (environment.readyAt !== undefined && environment.readyAt <= environment.initPhaseEnds) return undefined;
    const { fn } = this;
    const deadline = Math.max(startedAt, environment.initPhaseEnds) + fn.timeoutSeconds * 1000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new LambdaFunctionError({ errorType: 'Sandbox.Timedout', errorMessage: `${randomUUID()} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds (init of ${fn.functionName} past its Init phase)`, trace: [] }));
      }, deadline - Date.now());
    });
    try {
      await Promise.race([environment.ready, timedOut]);
    } finally {
      clearTimeout(timer);
    }
    return environment.readyAt! <= environment.initPhaseEnds ? undefined : deadline;
  }

  /** Starts one environment ahead of the first invocation, so that the first request does not pay the import (an init past its Init phase goes on: see initialized). */
  async warm(): Promise<void> {
    if (this.all.size > 0) return;
    const environment = this.create();
    this.idle.push(environment);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      environment.ready.catch(() => this.release(environment, true, false)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, Math.max(0, environment.initPhaseEnds - Date.now())))),
    ]);
    clearTimeout(timer);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.all].map((environment) => this.discard(environment)));
  }

  private acquire(): Promise<Environment> {
    if (this.stopped) return Promise.reject(new LambdaFunctionError({ errorType: 'Runtime.Stopped', errorMessage: 'the local runner is stopping', trace: [] }));
    const idle = this.idle.pop();
    if (idle) return Promise.resolve(idle);
    if (this.all.size === 0) return Promise.resolve(this.create());
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const waiter = (environment: Environment) => {
        clearTimeout(timer);
        resolve(environment);
      };
      this.waiting.push(waiter);
      if (this.all.size >= this.maxEnvironments) return;
      timer = setTimeout(() => {
        if (this.stopped || this.all.size >= this.maxEnvironments) return;
        const index = this.waiting.indexOf(waiter);
        if (index === -1) return;
        this.waiting.splice(index, 1);
        resolve(this.create());
      }, SCALE_OUT_DELAY_MS);
    });
  }

  private release(environment: Environment, discard: boolean, reuse = true): void {
    if (discard || this.stopped) {
      void this.discard(environment);
      const index = this.idle.indexOf(environment);
      if (index >= 0) this.idle.splice(index, 1);
      if (!reuse || this.stopped) return;
      const next = this.waiting.shift();
      if (next) next(this.create());
      return;
    }
    const next = this.waiting.shift();
    if (next) next(environment);
    else this.idle.push(environment);
  }

  private create(): Environment {
    const { fn } = this;
    const logStreamName = `${new Date().toISOString().slice(0, 10).replaceAll('-', '/')}/[$LATEST]${randomUUID().replaceAll('-', '')}`;
    const id = `${fn.logicalId}#${++this.environments}`;
    const worker = new Worker(workerScriptUrl(), {
      env: {
        ...fn.environment,
        ...this.environmentFor?.(fn, id),
        AWS_LAMBDA_FUNCTION_NAME: fn.functionName,
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
        AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${fn.functionName}`,
        AWS_LAMBDA_LOG_STREAM_NAME: logStreamName,
        _HANDLER: `index.${fn.handlerExport}`,
        TZ: ':UTC',
      },
      workerData: { entryFile: fn.entryFile, handlerExport: fn.handlerExport, runtimeModulesFrom: RUNTIME_MODULES_FROM } satisfies WorkerInit,
      // A clean Node.js, as in Lambda: no loaders or flags inherited from the runner's process.
      execArgv: [],
      stdout: true,
      stderr: true,
      resourceLimits: { maxOldGenerationSizeMb: Math.max(64, fn.memoryMb) },
    });
    pipeLines(worker.stdout, (line) => this.logSink(fn.functionName, line));
    pipeLines(worker.stderr, (line) => this.logSink(fn.functionName, line));

    let settleReady!: { resolve: () => void; reject: (error: LambdaFunctionError) => void };
    const ready = new Promise<void>((resolve, reject) => (settleReady = { resolve, reject }));
    ready.catch(() => undefined);
    const environment: Environment = { id, worker, ready, initPhaseEnds: Date.now() + this.initPhaseMs, logStreamName, dead: false };

    worker.on('message', (message: WorkerMessage) => {
      switch (message.type) {
        case 'ready':
          environment.readyAt = Date.now();
          settleReady.resolve();
          break;
        case 'init-error':
          environment.dead = true;
          settleReady.reject(new LambdaFunctionError(message.error));
          break;
        case 'result':
        case 'error': {
          const pending = environment.pending;
          if (!pending || pending.id !== message.id) return;
          environment.pending = undefined;
          const tooLarge = message.type === 'result' ? responseRefusal(Buffer.byteLength(message.payload)) : undefined;
          if (tooLarge) pending.reject(new LambdaFunctionError(tooLarge));
          else if (message.type === 'result') pending.resolve(JSON.parse(message.payload));
          else pending.reject(new LambdaFunctionError(message.error));
        }
      }
    });
    const crashed = (error: SerializedLambdaError) => {
      environment.dead = true;
      settleReady.reject(new LambdaFunctionError(error));
      environment.pending?.reject(new LambdaFunctionError(error));
      environment.pending = undefined;
    };
    worker.on('error', (error) =>
      crashed({
        errorType: (error as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'Runtime.OutOfMemory' : 'Runtime.ExitError',
        errorMessage: `${fn.functionName}: ${error.message}`,
        trace: (error.stack ?? '').split('\n'),
      }),
    );
    worker.on('exit', (code) => crashed({ errorType: 'Runtime.ExitError', errorMessage: `${fn.functionName}: the runtime exited with code ${code}`, trace: [] }));
    this.all.add(environment);
    return environment;
  }

  /** Runs `payload` in a ready environment, until `deadline` (default: the function's timeout from now). */
  private run(environment: Environment, payload: string, deadline?: number): Promise<unknown> {
    const { fn } = this;
    const id = ++this.nextId;
    const awsRequestId = randomUUID();
    const deadlineMs = deadline ?? Date.now() + fn.timeoutSeconds * 1000;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        // Lambda stops a timed-out invocation by freezing and recycling its environment.
        environment.dead = true;
        environment.pending = undefined;
        void environment.worker.terminate();
        reject(
          new LambdaFunctionError({
            errorType: 'Sandbox.Timedout',
            errorMessage: `${awsRequestId} Task timed out after ${fn.timeoutSeconds.toFixed(2)} seconds`,
            trace: [],
          }),
        );
      }, deadlineMs - Date.now());
      environment.pending = {
        id,
        resolve: (payload) => {
          clearTimeout(timer);
          resolve(payload);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      const message: InvokeMessage = {
        type: 'invoke',
        id,
        event: payload,
        context: {
          awsRequestId,
          functionName: fn.functionName,
          functionVersion: '$LATEST',
          invokedFunctionArn: fn.arn,
          memoryLimitInMB: String(fn.memoryMb),
          logGroupName: `/aws/lambda/${fn.functionName}`,
          logStreamName: environment.logStreamName,
          deadlineMs,
        },
      };
      environment.worker.postMessage(message);
    });
  }

  private async discard(environment: Environment): Promise<void> {
    this.all.delete(environment);
    environment.dead = true;
    await environment.worker.terminate();
  }
}

function pipeLines(stream: Readable | null | undefined, onLine: (line: string) => void): void {
  if (!stream) return;
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let newline = buffered.indexOf('\n');
    while (newline >= 0) {
      onLine(buffered.slice(0, newline));
      buffered = buffered.slice(newline + 1);
      newline = buffered.indexOf('\n');
    }
  });
  stream.on('end', () => buffered && onLine(buffered));
}

/** Runs the stack's functions in-process, each invocation in an execution environment of its own function. */
export class LocalLambdaRuntime {
  private readonly pools = new Map<string, FunctionPool>();
  private readonly byReference = new Map<string, FunctionPool>();

  /**
   * `initPhaseMs`: the Init phase, 10 s as on Lambda (shorter only in tests of it). `maxEnvironmentsPerFunction`:
   * the twin's limit on a function's execution environments (default DEFAULT_ENVIRONMENTS_PER_FUNCTION); a
   * function's concurrency below it still applies.
   */
  constructor(
    functions: readonly LocalFunction[],
    options: { logSink?: FunctionLogSink; environmentFor?: EnvironmentVariablesFor; initPhaseMs?: number; maxEnvironmentsPerFunction?: number } = {},
  ) {
    const logSink = options.logSink ?? (() => undefined);
    const environmentsLimit = options.maxEnvironmentsPerFunction ?? DEFAULT_ENVIRONMENTS_PER_FUNCTION;
    for (const fn of functions) {
      const pool = new FunctionPool(fn, logSink, options.environmentFor, options.initPhaseMs ?? INIT_TIMEOUT_MS, Math.max(1, Math.min(fn.maxConcurrency, environmentsLimit)));
      this.pools.set(fn.logicalId, pool);
      for (const reference of [fn.logicalId, fn.functionName, fn.arn]) this.byReference.set(reference, pool);
    }
  }

  get functions(): LocalFunction[] {
    return [...this.pools.values()].map((pool) => pool.fn);
  }

  /** The function a logical id, function name or ARN (optionally qualified with `:$LATEST`) refers to. */
  find(reference: string): LocalFunction | undefined {
    return this.pool(reference)?.fn;
  }

  /**
   * Invokes the function and waits for it (an `Event` invocation is only held to the asynchronous payload limit).
   * Resolves with the JSON result; rejects with a LambdaFunctionError, or with Lambda's refusal of an event over
   * the payload limit (limits/lambda.ts), before the function runs.
   */
  invoke(reference: string, event: unknown, invocationType: InvocationType = 'RequestResponse'): Promise<unknown> {
    const pool = this.pool(reference);
    if (!pool) {
      return Promise.reject(new LambdaFunctionError({ errorType: 'ResourceNotFoundException', errorMessage: `Function not found: ${reference}`, trace: [] }));
    }
    const payload = JSON.stringify(event ?? null);
    const refused = requestRefusal(Buffer.byteLength(payload), invocationType);
    return refused ? Promise.reject(refused) : pool.invoke(payload);
  }

  /** How many execution environments of the function may run at once (its concurrency, within the twin's limit). */
  environmentsLimit(reference: string): number | undefined {
    return this.pool(reference)?.maxEnvironments;
  }

  /** Kills one execution environment (see FunctionPool.kill), as Lambda loses one that crashes mid-invocation. */
  kill(environmentId: string): boolean {
    const pool = this.pools.get(environmentId.slice(0, environmentId.lastIndexOf('#')));
    return pool?.kill(environmentId) ?? false;
  }

  /** Starts one execution environment per function (the init phase of every bundle) and waits for them. */
  async warm(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.warm()));
  }

  async stop(): Promise<void> {
    await Promise.all([...this.pools.values()].map((pool) => pool.stop()));
  }

  private pool(reference: string): FunctionPool | undefined {
    return this.byReference.get(reference) ?? this.byReference.get(reference.replace(/:(\$LATEST|\d+)$/, ''));
  }
}
