import { KMSClient } from '@aws-sdk/client-kms';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

// The endpoint comes from AWS_ENDPOINT_URL_KMS, which the local runner sets (its local KMS); in AWS it is unset.
export const kms = tracer.captureAWSv3Client(new KMSClient({ ...SDK_CLIENT_SETTINGS }));
