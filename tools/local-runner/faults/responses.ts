/**
 * What each AWS JSON-protocol service answers when it throttles a call or fails it on its side, so that the
 * SDK in the function parses the same error code it would get from AWS (and retries it as it would there).
 * DynamoDB: ThrottlingException (400) and InternalServerError (500)
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html, read 2026-12-01);
 * SQS JSON protocol: RequestThrottled (400) and ServiceUnavailable (503), with the query-compatible code in
 * x-amzn-query-error; Step Functions: ThrottlingException (400) and ServiceUnavailable (503).
 */
import type { JsonService } from '../iam/requests.ts';

export interface ErrorAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const JSON_10 = 'application/x-amz-json-1.0';

function answer(status: number, namespace: string, code: string, message: string, queryError?: string): ErrorAnswer {
  return {
    status,
    headers: { 'Content-Type': JSON_10, 'x-amzn-ErrorType': code, ...(queryError ? { 'x-amzn-query-error': queryError } : {}) },
    body: JSON.stringify({ __type: `${namespace}#${code}`, message }),
  };
}

/** AWS's throttling error of `service`. */
export function throttled(service: JsonService): ErrorAnswer {
  switch (service) {
    case 'dynamodb':
    case 'dynamodb-streams':
      return answer(400, 'com.amazonaws.dynamodb.v20120810', 'ThrottlingException', 'Rate of requests exceeds the allowed throughput.');
    case 'sqs':
      return answer(400, 'com.amazonaws.sqs', 'RequestThrottled', 'Request is throttled.', 'RequestThrottled;Sender');
    case 'states':
      return answer(400, 'com.amazonaws.swf.base.model', 'ThrottlingException', 'Rate exceeded');
    case 'kms':
      return answer(400, 'com.amazonaws.kms', 'ThrottlingException', 'Rate exceeded');
  }
}

/** AWS's server-side failure of `service` (5xx). */
export function serverError(service: JsonService): ErrorAnswer {
  switch (service) {
    case 'dynamodb':
    case 'dynamodb-streams':
      return answer(500, 'com.amazonaws.dynamodb.v20120810', 'InternalServerError', 'Internal server error');
    case 'sqs':
      return answer(503, 'com.amazonaws.sqs', 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.', 'ServiceUnavailable;Receiver');
    case 'states':
      return answer(503, 'com.amazonaws.swf.base.model', 'ServiceUnavailable', 'Service Unavailable');
    case 'kms':
      return answer(500, 'com.amazonaws.kms', 'KMSInternalException', 'Internal failure');
  }
}
