/**
 * One request id end to end: the id of the API request that created a payment or a refund (API Gateway's
 * `requestContext.requestId`, which it returns as `x-amzn-RequestId`) is stored on the item, carried by
 * its events, messages and saga input, and written by every function that handles it under one log key
 * and, where the tracer is active, as an X-Ray annotation of the same name.
 *
 * The key is not Powertools' `function_request_id` (the Lambda invocation's id) nor its `correlation_id`
 * (the API functions set it to the request at hand, which for a replay or a GET is not the creating one).
 */
import type { Context } from 'aws-lambda';
import { logger, tracer } from '#commons/powertools';

export const API_REQUEST_ID_KEY = 'api_request_id';

export interface Correlation {
  paymentId?: string;
  refundId?: string;
  /** The API request id that created the payment or refund. */
  requestId?: string;
}

/** The log keys (and annotation names) of a correlation: `paymentId`, `refundId`, `api_request_id`, those present. */
export function correlationKeys({ paymentId, refundId, requestId }: Correlation): Record<string, string> {
  return {
    ...(paymentId ? { paymentId } : {}),
    ...(refundId ? { refundId } : {}),
    ...(requestId ? { [API_REQUEST_ID_KEY]: requestId } : {}),
  };
}

/**
 * Runs `work` with the correlation's keys on every log line it writes and, where the tracer is active, inside a
 * subsegment `## <name>` annotated with them (annotations go on a subsegment: Lambda's own segment takes none).
 * The keys are removed afterwards, so a warm function never logs one payment's id on the next one's lines.
 */
export async function withCorrelation<T>(name: string, correlation: Correlation, work: () => Promise<T>): Promise<T> {
  const keys = correlationKeys(correlation);
  logger.appendKeys(keys);
  const segment = tracer.getSegment();
  const subsegment = segment?.addNewSubsegment(`## ${name}`);
  if (subsegment) {
    tracer.setSegment(subsegment);
    for (const [key, value] of Object.entries(keys)) tracer.putAnnotation(key, value);
  }
  try {
    return await work();
  } finally {
    subsegment?.close();
    if (segment) tracer.setSegment(segment);
    logger.removeKeys(Object.keys(keys));
  }
}

/**
 * A saga task's handler: the step, run with the Lambda context and the state's payment, refund and request id on
 * every log line (Step Functions passes the whole state to each task, and each task returns it, so the request id
 * the saga was started with reaches every step).
 */
export function sagaTaskHandler<State extends { paymentId: string; refundId?: string; requestId?: string }>(
  name: string,
  step: (state: State) => Promise<State>,
): (state: State, context?: Context) => Promise<State> {
  return async (state, context) => {
    if (context) logger.addContext(context);
    return withCorrelation(name, { paymentId: state?.paymentId, refundId: state?.refundId, requestId: state?.requestId }, () => step(state));
  };
}
