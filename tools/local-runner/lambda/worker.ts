// One Lambda execution environment: a worker thread that imports one bundled function (its init phase)
// and then runs one invocation at a time. Its process.env is the function's environment, given by the
// parent through `new Worker(..., { env })`, because bundles read their configuration at import.
// Plain erasable TypeScript with no imports of project files: the runtime strips its types once and runs it from a
// data: URL (lambda/runtime.ts), with no loader.
import { enableCompileCache, registerHooks } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import { pathToFileURL } from 'node:url';

export interface WorkerInit {
  entryFile: string;
  handlerExport: string;
  /**
   * A file URL to resolve the runtime's own packages from (the AWS SDK v3 that the Node.js runtimes
   * ship and that bundles leave external), as Lambda falls back to /var/runtime/node_modules.
   */
  runtimeModulesFrom: string;
}

/** Packages the Lambda Node.js runtimes provide, which bundles leave out. */
const RUNTIME_PROVIDED = /^@(aws-sdk|smithy)\//;

/** What the parent sends for each invocation; the event travels as JSON, as it does to a real runtime. */
export interface InvokeMessage {
  type: 'invoke';
  id: number;
  event: string;
  context: {
    awsRequestId: string;
    functionName: string;
    functionVersion: string;
    invokedFunctionArn: string;
    memoryLimitInMB: string;
    logGroupName: string;
    logStreamName: string;
    deadlineMs: number;
  };
}

export interface SerializedLambdaError {
  errorType: string;
  errorMessage: string;
  trace: string[];
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'init-error'; error: SerializedLambdaError }
  | { type: 'result'; id: number; payload: string }
  | { type: 'error'; id: number; error: SerializedLambdaError };

type Handler = (event: unknown, context: unknown, callback?: (error: unknown, result?: unknown) => void) => unknown;

function serializeError(error: unknown, fallbackType: string): SerializedLambdaError {
  if (error instanceof Error) {
    return { errorType: error.name || fallbackType, errorMessage: error.message, trace: (error.stack ?? '').split('\n') };
  }
  return { errorType: fallbackType, errorMessage: String(error), trace: [] };
}

/** How the Node.js runtimes report a failed init: a missing module or a syntax error by their Runtime.* types. */
function initError(error: unknown): SerializedLambdaError {
  const serialized = serializeError(error, 'Runtime.ImportModuleError');
  const code = (error as { code?: string } | undefined)?.code;
  if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND' || code === 'ERR_UNSUPPORTED_DIR_IMPORT') {
    return { ...serialized, errorType: 'Runtime.ImportModuleError', errorMessage: `${serialized.errorType}: ${serialized.errorMessage}` };
  }
  if (error instanceof SyntaxError) return { ...serialized, errorType: 'Runtime.UserCodeSyntaxError', errorMessage: `${serialized.errorType}: ${serialized.errorMessage}` };
  return serialized;
}

function callHandler(handler: Handler, event: unknown, context: unknown): Promise<unknown> {
  // Callback-style handlers (three parameters) are still supported by the Node.js runtimes.
  if (handler.length >= 3) {
    return new Promise((resolve, reject) => {
      const returned = handler(event, context, (error, result) => (error ? reject(error) : resolve(result)));
      if (returned && typeof (returned as Promise<unknown>).then === 'function') (returned as Promise<unknown>).then(resolve, reject);
    });
  }
  return Promise.resolve().then(() => handler(event, context));
}

const port = parentPort;
if (!port) throw new Error('worker.ts runs only as a worker thread');
const { entryFile, handlerExport, runtimeModulesFrom } = workerData as WorkerInit;

registerHooks({
  resolve(specifier, context, nextResolve) {
    try {
      return nextResolve(specifier, context);
    } catch (error) {
      if (!RUNTIME_PROVIDED.test(specifier)) throw error;
      return nextResolve(specifier, { ...context, parentURL: runtimeModulesFrom });
    }
  },
});

// V8's code cache on disk: every further environment of a function (and every later run) compiles its
// bundle from the cache — the twin's cold starts cost less CPU; the bench measures Lambda's import apart.
enableCompileCache();

let handler: Handler | undefined;
try {
  const module = (await import(pathToFileURL(entryFile).href)) as Record<string, unknown>;
  const exported = module[handlerExport];
  if (typeof exported !== 'function') {
    port.postMessage({
      type: 'init-error',
      error: { errorType: 'Runtime.HandlerNotFound', errorMessage: `${entryFile}.${handlerExport} is undefined or not exported`, trace: [] },
    } satisfies WorkerMessage);
  } else {
    handler = exported as Handler;
    port.postMessage({ type: 'ready' } satisfies WorkerMessage);
  }
} catch (error) {
  port.postMessage({ type: 'init-error', error: initError(error) } satisfies WorkerMessage);
}

port.on('message', async (message: InvokeMessage) => {
  if (message.type !== 'invoke' || !handler) return;
  const { deadlineMs, ...fields } = message.context;
  const context = {
    ...fields,
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => Math.max(0, deadlineMs - Date.now()),
  };
  try {
    const result = await callHandler(handler, JSON.parse(message.event), context);
    // Lambda serializes the result as JSON: undefined becomes null, dates become strings.
    port.postMessage({ type: 'result', id: message.id, payload: JSON.stringify(result) ?? 'null' } satisfies WorkerMessage);
  } catch (error) {
    port.postMessage({ type: 'error', id: message.id, error: serializeError(error, 'Error') } satisfies WorkerMessage);
  }
});
