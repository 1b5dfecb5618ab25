/**
 * Request timeouts and retries of every AWS SDK client the functions make. Without a request timeout one
 * call to a stalled DynamoDB (or SQS, or Step Functions) waits until Lambda ends the whole invocation
 * (Sandbox.Timedout), which a caller cannot tell from a crash; with them, a slow call fails fast as the
 * SDK's TimeoutError, is retried by the SDK, and what still fails reaches the function's own error handling
 * (a Payments-table task rethrows it for the state machine's retriers; the processor adapter calls it
 * ProcessorTimeout, an outcome to find out by retrying the same key) well inside the function's timeout.
 *
 * Worst case per call: MAX_ATTEMPTS × (CONNECTION_TIMEOUT_MS + REQUEST_TIMEOUT_MS) plus the SDK's backoff
 * between attempts (standard mode: full jitter of 100 ms × 2^attempt) — 7.8 s, under the functions'
 * 10 s timeout (lib/constructs/payflow-function.ts; a unit test holds the two together). DynamoDB answers in
 * milliseconds; 2 s is a stall, not a slow answer.
 */
export const SDK_CONNECTION_TIMEOUT_MS = 500;
export const SDK_REQUEST_TIMEOUT_MS = 2_000;
export const SDK_MAX_ATTEMPTS = 3;
/** The SDK's standard retry mode waits at most 100 ms × 2^attempt (full jitter) between attempts. */
export const SDK_WORST_CASE_MS = SDK_MAX_ATTEMPTS * (SDK_CONNECTION_TIMEOUT_MS + SDK_REQUEST_TIMEOUT_MS) + Array.from({ length: SDK_MAX_ATTEMPTS - 1 }, (_, attempt) => 100 * 2 ** (attempt + 1)).reduce((a, b) => a + b, 0);

/** What every client gets: `new DynamoDBClient({ ...SDK_CLIENT_SETTINGS })`. */
export const SDK_CLIENT_SETTINGS = {
  maxAttempts: SDK_MAX_ATTEMPTS,
  retryMode: 'standard',
  requestHandler: { connectionTimeout: SDK_CONNECTION_TIMEOUT_MS, requestTimeout: SDK_REQUEST_TIMEOUT_MS },
} as const;
