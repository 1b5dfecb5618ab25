import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

// Send to the client's endpoint, not to the host inside the QueueUrl: in AWS both are the regional
// SQS endpoint; locally AWS_ENDPOINT_URL_SQS points at fauxqs, whose queue URLs name hosts
// (sqs.<region>.localhost) that do not resolve here.
export const sqs = tracer.captureAWSv3Client(new SQSClient({ ...SDK_CLIENT_SETTINGS, useQueueUrlAsEndpoint: false }));
