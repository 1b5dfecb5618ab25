import type { _Record as StreamsApiRecord, AttributeValue as StreamsApiAttributeValue } from '@aws-sdk/client-dynamodb-streams';
import type { AttributeValue as LambdaAttributeValue, DynamoDBRecord } from 'aws-lambda';

// Not shared with lambdas/adapters/stream-record-shape.ts: this is Lambda's side (AWS's shape, emulated), and the runner imports nothing from the product.

/**
 * A record as the DynamoDB Streams API returns it (through the SDK), in the shape Lambda's stream event
 * source mapping hands a function: creation time in epoch seconds, binary attributes base64-encoded,
 * the stream ARN as eventSourceARN.
 */
export function toLambdaStreamRecord(record: StreamsApiRecord, streamArn: string): DynamoDBRecord {
  const change = record.dynamodb ?? {};
  const created = change.ApproximateCreationDateTime;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion ?? '1.1',
    eventSource: record.eventSource ?? 'aws:dynamodb',
    awsRegion: record.awsRegion,
    dynamodb: {
      ...(created === undefined ? {} : { ApproximateCreationDateTime: Math.floor(new Date(created).getTime() / 1000) }),
      ...(change.Keys ? { Keys: toLambdaImage(change.Keys) } : {}),
      ...(change.NewImage ? { NewImage: toLambdaImage(change.NewImage) } : {}),
      ...(change.OldImage ? { OldImage: toLambdaImage(change.OldImage) } : {}),
      SequenceNumber: change.SequenceNumber,
      SizeBytes: change.SizeBytes,
      StreamViewType: change.StreamViewType,
    },
    eventSourceARN: streamArn,
    ...(record.userIdentity ? { userIdentity: record.userIdentity } : {}),
  };
}

function toLambdaImage(image: Record<string, StreamsApiAttributeValue>): Record<string, LambdaAttributeValue> {
  return Object.fromEntries(Object.entries(image).map(([name, value]) => [name, toLambdaValue(value)]));
}

function toLambdaValue(value: StreamsApiAttributeValue): LambdaAttributeValue {
  if (value.B !== undefined) return { B: Buffer.from(value.B).toString('base64') };
  if (value.BS !== undefined) return { BS: value.BS.map((bytes) => Buffer.from(bytes).toString('base64')) };
  if (value.M !== undefined) return { M: toLambdaImage(value.M) };
  if (value.L !== undefined) return { L: value.L.map(toLambdaValue) };
  if (value.S !== undefined) return { S: value.S };
  if (value.N !== undefined) return { N: value.N };
  if (value.BOOL !== undefined) return { BOOL: value.BOOL };
  if (value.NULL !== undefined) return { NULL: value.NULL };
  if (value.SS !== undefined) return { SS: value.SS };
  if (value.NS !== undefined) return { NS: value.NS };
  throw new Error(`unsupported attribute value: ${JSON.stringify(value)}`);
}
