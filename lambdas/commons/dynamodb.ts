import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { tracer } from '#commons/powertools';
import { SDK_CLIENT_SETTINGS } from '#commons/sdk-settings';

// Endpoints come from the SDK's own AWS_ENDPOINT_URL_DYNAMODB variable, which the local runner and
// the tests set; in AWS it is unset and the regional endpoint is used.
export const dynamodb = tracer.captureAWSv3Client(new DynamoDBClient({ ...SDK_CLIENT_SETTINGS }));
// The marshaller recognises a plain object by its `constructor` property, so a merchant's metadata
// key named "constructor" would make it throw; convertClassInstanceToMap stores such objects as maps.
export const documentClient = DynamoDBDocumentClient.from(dynamodb, {
  marshallOptions: { removeUndefinedValues: true, convertClassInstanceToMap: true },
});
