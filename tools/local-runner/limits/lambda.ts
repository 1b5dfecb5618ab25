/**
 * Lambda's invocation payload limits, as the Invoke API and the runtime enforce them. Values and wording
 * checked on 2026-12-01:
 * - request and response, synchronous: 6 MB; asynchronous request: 1 MB (raised from 256 KB in October 2025)
 *   — https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html ("For synchronous invocations, the maximum
 *   payload size is 6 MB. For asynchronous invocations, the maximum payload size is 1 MB.") and
 *   https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html;
 * - the exact byte counts and messages are Lambda's own answers as users report them: a request over 6291456
 *   bytes is `413 RequestEntityTooLargeException` "Request must be smaller than 6291456 bytes for the
 *   InvokeFunction operation"; an asynchronous one "<n> byte payload is too large for the Event invocation type
 *   (limit <limit> bytes)"; a response over 6291556 bytes (6 MiB + 100) fails the invocation with
 *   `Function.ResponseSizeTooLarge` "Response payload size exceeded maximum allowed payload size (6291556 bytes)."
 *   (https://github.com/DataBiosphere/azul/issues/7466, 2026-09; https://github.com/aws/aws-pdk/issues/771).
 */
import type { SerializedLambdaError } from '../lambda/worker.ts';

/** Synchronous (RequestResponse) request payload, in bytes of the JSON event. */
export const LAMBDA_SYNC_REQUEST_MAX_BYTES = 6 * 1024 * 1024;
/** Asynchronous (Event) request payload: 1 MB since October 2025 (was 256 KB). */
export const LAMBDA_ASYNC_REQUEST_MAX_BYTES = 1024 * 1024;
/** Response payload: 6 MiB plus 100 bytes, as Lambda counts it. */
export const LAMBDA_RESPONSE_MAX_BYTES = 6 * 1024 * 1024 + 100;

export type InvocationType = 'RequestResponse' | 'Event';

/** Lambda refused to invoke the function (the Invoke API's 413): the function never ran. */
export class LambdaRequestTooLarge extends Error {
  override readonly name = 'RequestEntityTooLargeException';
  readonly statusCode = 413;
}

/** Lambda's refusal of an invocation whose event is `bytes` long, or undefined when it is within the limit. */
export function requestRefusal(bytes: number, invocationType: InvocationType): LambdaRequestTooLarge | undefined {
  if (invocationType === 'Event') {
    return bytes > LAMBDA_ASYNC_REQUEST_MAX_BYTES
      ? new LambdaRequestTooLarge(`${bytes} byte payload is too large for the Event invocation type (limit ${LAMBDA_ASYNC_REQUEST_MAX_BYTES} bytes)`)
      : undefined;
  }
  return bytes > LAMBDA_SYNC_REQUEST_MAX_BYTES ? new LambdaRequestTooLarge(`Request must be smaller than ${LAMBDA_SYNC_REQUEST_MAX_BYTES} bytes for the InvokeFunction operation`) : undefined;
}

/** The function error of an invocation whose handler returned `bytes` of JSON over the limit, or undefined. */
export function responseRefusal(bytes: number): SerializedLambdaError | undefined {
  if (bytes <= LAMBDA_RESPONSE_MAX_BYTES) return undefined;
  return { errorType: 'Function.ResponseSizeTooLarge', errorMessage: `Response payload size exceeded maximum allowed payload size (${LAMBDA_RESPONSE_MAX_BYTES} bytes).`, trace: [] };
}

/**
 * The records of a stream event source mapping's next batch that fit one invocation: Lambda ends a batch at the
 * batch size, the batching window or when the payload would pass 6 MB ("Lambda ... invokes the function when ...
 * the payload reaches 6 MB", https://docs.aws.amazon.com/lambda/latest/dg/with-ddb.html, checked 2026-12-01).
 * Never fewer than one record (a record is at most 400 KB twice, with both images).
 */
export function recordsWithinPayloadLimit<T>(records: readonly T[]): T[] {
  let bytes = Buffer.byteLength('{"Records":[]}');
  let count = 0;
  for (const record of records) {
    bytes += Buffer.byteLength(JSON.stringify(record)) + (count > 0 ? 1 : 0);
    if (count > 0 && bytes > LAMBDA_SYNC_REQUEST_MAX_BYTES) break;
    count += 1;
  }
  return records.slice(0, count);
}
