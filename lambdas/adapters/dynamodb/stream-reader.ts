import { DynamoDBStreamsClient, GetRecordsCommand, GetShardIteratorCommand } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBRecord } from 'aws-lambda';
import { tracer } from '#commons/powertools';
import { StreamRecordsGone, type StreamRange } from '#ports/outbox-stream';
import { entityOf } from './payments-items.ts';
import { toLambdaStreamRecord } from './stream-record-shape.ts';

// In AWS neither variable is set. DynamoDB Local (and LocalStack) serve DynamoDB Streams on
// DynamoDB's own endpoint, so locally AWS_ENDPOINT_URL_DYNAMODB is enough.
const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
const streams = tracer.captureAWSv3Client(new DynamoDBStreamsClient(endpoint ? { endpoint } : {}));

/** Consecutive empty GetRecords answers after which an open shard is taken to hold nothing more of the range. */
const MAX_EMPTY_READS = 10;

/**
 * Reads the records of one shard from startSequenceNumber to endSequenceNumber (both included), in
 * the shape Lambda delivers them. Throws StreamRecordsGone when the stream no longer holds them.
 */
export async function readStreamRange(range: StreamRange): Promise<DynamoDBRecord[]> {
  try {
    return await readRange(range);
  } catch (error) {
    if (error instanceof Error && (error.name === 'TrimmedDataAccessException' || error.name === 'ResourceNotFoundException')) throw new StreamRecordsGone(error.message);
    throw error;
  }
}

/** What the outbox needs to tell whether a kept record could be an event, and its key. */
export function describeStreamRecord(record: DynamoDBRecord): { eventName: string; entity: string | undefined; key: string } {
  return {
    eventName: record.eventName ?? '',
    entity: entityOf({ entity: record.dynamodb?.NewImage?.entity?.S }),
    key: record.dynamodb?.SequenceNumber ?? record.eventID ?? '',
  };
}

async function readRange(range: StreamRange): Promise<DynamoDBRecord[]> {
  const end = BigInt(range.endSequenceNumber);
  const { ShardIterator } = await streams.send(
    new GetShardIteratorCommand({
      StreamArn: range.streamArn,
      ShardId: range.shardId,
      ShardIteratorType: 'AT_SEQUENCE_NUMBER',
      SequenceNumber: range.startSequenceNumber,
    }),
  );
  const records: DynamoDBRecord[] = [];
  let iterator = ShardIterator;
  let emptyReads = 0;
  while (iterator && emptyReads < MAX_EMPTY_READS) {
    const page = await streams.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
    const pageRecords = page.Records ?? [];
    emptyReads = pageRecords.length === 0 ? emptyReads + 1 : 0;
    for (const record of pageRecords) {
      if (BigInt(record.dynamodb?.SequenceNumber ?? '0') > end) return records;
      records.push(toLambdaStreamRecord(record, range.streamArn));
    }
    iterator = page.NextShardIterator;
  }
  return records;
}
