import { describe, expect, it } from 'vitest';
import { toLambdaStreamRecord as productShape } from '../../../lambdas/adapters/dynamodb/stream-record-shape.ts';
import { toLambdaStreamRecord as runnerShape } from '../../../tools/local-runner/event-source-mappings/stream-record-shape.ts';

// The runner keeps its own copy of Lambda's stream record shape (it imports nothing from the product);
// the product's copy (what the failure keeper stores for replay) must stay the same shape.
describe('stream record shape', () => {
  it("the runner's Lambda stream record and the product's replay record are the same", () => {
    const bytes = new Uint8Array([0, 1, 254, 255]);
    const record = {
      eventID: 'e1',
      eventName: 'MODIFY' as const,
      eventVersion: '1.1',
      eventSource: 'aws:dynamodb',
      awsRegion: 'us-east-1',
      dynamodb: {
        ApproximateCreationDateTime: new Date('2026-12-01T10:00:00.900Z'),
        Keys: { PK: { S: 'PAYMENT#1' } },
        NewImage: { PK: { S: 'PAYMENT#1' }, n: { N: '1' }, b: { B: bytes }, bs: { BS: [bytes] }, m: { M: { l: { L: [{ BOOL: true }, { NULL: true }] } } }, ss: { SS: ['a'] }, ns: { NS: ['1'] } },
        OldImage: { PK: { S: 'PAYMENT#1' } },
        SequenceNumber: '100',
        SizeBytes: 42,
        StreamViewType: 'NEW_AND_OLD_IMAGES' as const,
      },
      userIdentity: { PrincipalId: 'dynamodb.amazonaws.com', Type: 'Service' },
    };
    const streamArn = 'arn:aws:dynamodb:ddblocal:000000000000:table/t/stream/2026-12-01T00:00:00.000';
    expect(runnerShape(record, streamArn)).toEqual(productShape(record, streamArn));
    expect(runnerShape({ dynamodb: {} }, streamArn)).toEqual(productShape({ dynamodb: {} }, streamArn));
  });
});
