/** Reading back the outbox stream's records that the relay could not publish. */

/** The pointer a stream mapping's on-failure destination receives: which records of which shard failed. */
export interface StreamRange {
  streamArn: string;
  shardId: string;
  startSequenceNumber: string;
  endSequenceNumber: string;
}

/** The stream no longer holds the records (older than its 24-hour retention, or the stream is gone). */
export class StreamRecordsGone extends Error {
  override readonly name = 'StreamRecordsGone';
}
