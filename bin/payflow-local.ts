/**
 * Payflow on the local runner. The runner (tools/local-runner) knows nothing of Payflow: it runs the stack
 * of a cloud assembly it is told to. These are Payflow's specifics — the CDK app and its stack, the outputs
 * it adds (each API key's value beside its `ApiKeyId<Name>` output), the ready line, and the API's error
 * shape for requests the HTTP parser refuses. `npm start` (bin/start.ts), the acceptance suite's local
 * target and the reliability run all start the runner with them, so they all see the same outputs.
 */
import { resolve } from 'node:path';
import type { MalformedRequestBody } from '../tools/local-runner/api-gateway/malformed-requests.ts';
import type { LocalStackApiKey, LocalStackOptions } from '../tools/local-runner/runner.ts';

const PROJECT_DIR = resolve(import.meta.dirname, '..');

/** The CDK app (bin/app.ts) and its project, for the runner's synthesis. */
export const PAYFLOW_APP = { app: resolve(PROJECT_DIR, 'bin/app.ts'), projectDir: PROJECT_DIR };

/** lib/app.ts's STACK_NAME (not imported: that would load aws-cdk-lib into `npm start`'s own process). */
export const PAYFLOW_STACK_NAME = 'Payflow';

/** A key's name in the outputs: `MerchantA` for the key of output `ApiKeyIdMerchantA`; its logical id when no such output names it. */
export function apiKeyName(key: LocalStackApiKey): string {
  return key.outputName?.startsWith('ApiKeyId') ? key.outputName.slice('ApiKeyId'.length) : key.logicalId;
}

/** `MerchantA` -> `merchant-a`. */
const kebabCase = (pascal: string) => pascal.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();

/** The merchant a key belongs to (`merchant-a` for the key of output `ApiKeyIdMerchantA`): payments carry it, not the key's id. */
export const merchantIdOf = (key: LocalStackApiKey): string => kebabCase(apiKeyName(key));

/** Requests the HTTP parser refuses get the API's error shape and codes (README "Errors"). */
export const PAYFLOW_MALFORMED_REQUEST_BODY: MalformedRequestBody = ({ reason, message }) => {
  const code = { BAD_REQUEST: 'bad_request', REQUEST_HEADER_FIELDS_TOO_LARGE: 'request_header_fields_too_large', REQUEST_TIMEOUT: 'request_timeout' }[reason];
  return JSON.stringify({ error: { type: 'invalid_request_error', code, message } });
};

/** The webhook retry schedule on AWS (lib/payflow-config.ts defaults), scaled here for a sped-up run. */
const WEBHOOK_RETRIES = { retryBaseSeconds: 60, retryCapSeconds: 6 * 3600, retryWindowSeconds: 3 * 24 * 3600 };

/**
 * Payflow's context for a run at `timeScale`. The runner scales what the template says about time
 * (saga Retry pauses, so a payment's wait for the circuit breaker), but the breaker's own window and
 * open time are function settings it cannot see: scaled here alike, or a sped-up run would give up on
 * held payments long before the breaker lets a probe through. The webhook retry schedule (3 days on AWS)
 * is a function setting too, scaled the same way; `webhooks` overrides it (a test compresses the 3-day window
 * further). Every local run is the twin's dev mode for webhooks: an endpoint may be http://127.0.0.1.
 */
export function payflowContext(timeScale = 1, webhooks: Record<string, number> = {}): Record<string, unknown> {
  const scaledRetries = Object.fromEntries(Object.entries(WEBHOOK_RETRIES).map(([name, seconds]) => [name, seconds * timeScale]));
  const context: Record<string, unknown> = { 'payflow:webhooks': { devMode: true, ...scaledRetries, ...webhooks } };
  if (timeScale === 1) return context;
  return { ...context, 'payflow:circuitBreaker': { windowSeconds: Math.max(1, Math.round(60 * timeScale)), openSeconds: 30 * timeScale } };
}

/** What every local run of Payflow passes the runner. */
export const PAYFLOW_LOCAL: Pick<LocalStackOptions, 'stackName' | 'app' | 'projectDir' | 'extraOutputs' | 'readyMessage' | 'malformedRequestBody'> = {
  stackName: PAYFLOW_STACK_NAME,
  ...PAYFLOW_APP,
  // A deployed stack's key values are read with GetApiKey; the local one's are in the outputs, as ApiKeyValue<Name>.
  extraOutputs: ({ apiKeys }) => Object.fromEntries(apiKeys.map((key) => [`ApiKeyValue${apiKeyName(key)}`, key.value])),
  readyMessage: (stack) => {
    const key = stack.apiKeys[0];
    const keyPart = key ? ` — API key (${merchantIdOf(key)}): ${key.value}` : '';
    const outputsPart = stack.outputsFile ? ` — outputs: ${stack.outputsFile}` : '';
    return `Payflow is ready at ${stack.apiUrl}${keyPart}${outputsPart}`;
  },
  malformedRequestBody: PAYFLOW_MALFORMED_REQUEST_BODY,
};
