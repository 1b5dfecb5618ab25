import { SFNClient } from '@aws-sdk/client-sfn';
import { tracer } from '#commons/powertools';

export const sfn = tracer.captureAWSv3Client(new SFNClient({}));
