import { SFNClient } from '@aws-sdk/client-sfn';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

export const sfn = tracer.captureAWSv3Client(new SFNClient({ ...SDK_CLIENT_SETTINGS }));
