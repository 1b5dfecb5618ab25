/**
 * Step Functions' payload limit: 256 KiB (262144 bytes of UTF-8) for an execution's input and for the data a
 * state or task passes on ("Maximum input or output size for a task, state, or execution", Step Functions service
 * quotas, https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html; the API's "Maximum length of
 * 262144" on StartExecution's input and every history event's input/output, checked 2026-12-01 — the 2025/2026
 * raises to 1 MB covered SQS, asynchronous Lambda and EventBridge, not Step Functions).
 * - StartExecution with a larger input: `ValidationException` "1 validation error detected: Value at 'input' failed
 *   to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding" (as AWS
 *   answers it, quoted by users; checked before the state machine is looked up).
 * - A task whose result is larger: the execution fails with `States.DataLimitExceeded`, "The state/task '<resource>'
 *   returned a result with a size exceeding the maximum number of bytes service limit.", a terminal error that
 *   `States.ALL` neither retries nor catches (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-error-handling.html).
 *   Locally no Retry or Catch takes it, not even one naming States.DataLimitExceeded (which AWS would honour).
 */
import { StepFunctionsApiError } from '../step-functions/executions.ts';

export const STATES_PAYLOAD_MAX_BYTES = 256 * 1024;

/** Throws StartExecution's ValidationException when `input` is over the limit. */
export function assertExecutionInputWithinLimit(input: string | undefined): void {
  if (input === undefined || Buffer.byteLength(input) <= STATES_PAYLOAD_MAX_BYTES) return;
  throw new StepFunctionsApiError(
    'ValidationException',
    `1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to ${STATES_PAYLOAD_MAX_BYTES} bytes in UTF-8 encoding`,
  );
}

/** States.DataLimitExceeded: terminal, no Retry or Catch of the state takes it (aws-local-stepfunctions reads these flags). */
export class DataLimitExceeded extends Error {
  override readonly name = 'States.DataLimitExceeded';
  readonly isRetryable = false;
  readonly isCatchable = false;
  constructor(resource: string) {
    super(`The state/task '${resource}' returned a result with a size exceeding the maximum number of bytes service limit.`);
  }
}

/** Throws States.DataLimitExceeded when the result a task returned is over the limit. */
export function assertTaskResultWithinLimit(resource: string, result: unknown): void {
  if (Buffer.byteLength(JSON.stringify(result ?? null)) > STATES_PAYLOAD_MAX_BYTES) throw new DataLimitExceeded(resource);
}
