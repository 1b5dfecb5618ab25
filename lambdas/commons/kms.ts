import { KMSClient } from '@aws-sdk/client-kms';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

let client: KMSClient | undefined;

/**
 * The functions' KMS client, made on its first call (as `sqs`): the dispatcher, which opens a secret at its first
 * delivery, makes it at import; the endpoints function, which seals one only when an endpoint is created or its
 * secret rolled, when it first does. The endpoint comes from AWS_ENDPOINT_URL_KMS, which the local runner sets
 * (its local KMS); in AWS it is unset.
 */
export const kms = (): KMSClient => (client ??= tracer.captureAWSv3Client(new KMSClient({ ...SDK_CLIENT_SETTINGS })));
