import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import { unmarshall } from '@aws-sdk/util-dynamodb';
import type { DynamoDBRecord } from 'aws-lambda';
import type { EntityChange } from '#domain/events';
import { entityOf, withoutStorageAttributes } from './payments-items.ts';

/** A Payments-table stream record as the domain sees it: which entity changed, before and after, without storage attributes. */
export function changeOf(record: DynamoDBRecord): EntityChange {
  const before = imageOf(record.dynamodb?.OldImage);
  const after = imageOf(record.dynamodb?.NewImage);
  return {
    eventId: record.eventID ?? '',
    eventName: record.eventName ?? '',
    entity: entityOf(after ?? before),
    ...(before ? { before: withoutStorageAttributes(before) } : {}),
    ...(after ? { after: withoutStorageAttributes(after) } : {}),
  };
}

/** What identifies a record within its batch (Lambda's partial batch responses name records by it). */
export const streamRecordKey = (record: DynamoDBRecord): string => record.dynamodb?.SequenceNumber ?? record.eventID ?? '';

function imageOf(image: unknown): Record<string, unknown> | undefined {
  return image ? unmarshall(image as Record<string, AttributeValue>) : undefined;
}
