import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

let client: SQSClient | undefined;

/**
 * The functions' SQS client, made on its first call: a function that sends to a queue on most invocations makes
 * it at import (`sqsQueueFromSettings`), one that sends only now and then (retries, dead letters, a rare request)
 * when it first sends, so that its cold starts do not pay for a client (~2 ms, DESIGN §9).
 * It sends to the client's endpoint, not to the host inside the QueueUrl: in AWS both are the regional SQS
 * endpoint; locally AWS_ENDPOINT_URL_SQS points at fauxqs, whose queue URLs name hosts (sqs.<region>.localhost)
 * that do not resolve here.
 */
export const sqs = (): SQSClient => (client ??= tracer.captureAWSv3Client(new SQSClient({ ...SDK_CLIENT_SETTINGS, useQueueUrlAsEndpoint: false })));
