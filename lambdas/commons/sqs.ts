import { SQSClient } from '@aws-sdk/client-sqs';
import { tracer } from '#commons/powertools';

export const sqs = tracer.captureAWSv3Client(new SQSClient({}));
