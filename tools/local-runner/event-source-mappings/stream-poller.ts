import { randomUUID } from 'node:crypto';
import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type Shard,
  type ShardIteratorType,
} from '@aws-sdk/client-dynamodb-streams';
import { SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { toLambdaStreamRecord } from './stream-record-shape.ts';
import { matchesFilterCriteria, reportedFailures, sleep, type EventSourceMappingProperties } from './mapping.ts';
import { recordsWithinPayloadLimit } from '../limits/lambda.ts';

/**
 * A local DynamoDB Streams event source mapping: polls every shard of a stream in DynamoDB Local and
 * invokes a function with Lambda's DynamoDBStreamEvent, as Lambda does:
 * - FilterCriteria drop records before batching (dropped records count as processed);
 * - up to BatchSize records per invocation, one invocation per shard at a time, shards in stream order
 *   (a child shard after its parent);
 * - MaximumBatchingWindowInSeconds: waits that long for a batch to fill (not for a retry);
 * - a function error retries the batch; with BisectBatchOnFunctionError it is split in two first
 *   (splitting does not use up retries, as AWS documents);
 * - with ReportBatchItemFailures, the shard is checkpointed before the lowest reported sequence number
 *   and the rest of the batch retried; an identifier that is not in the batch fails the whole batch;
 * - after MaximumRetryAttempts retries, or once records are older than MaximumRecordAgeInSeconds, the
 *   records are skipped and, when DestinationConfig.OnFailure is set, Lambda's on-failure record (a
 *   pointer: shard and sequence-number range, no data) is sent to that SQS queue.
 */
export interface StreamPollerOptions {
  streamArn: string;
  mapping: EventSourceMappingProperties;
  invoke: (event: DynamoDBStreamEvent) => Promise<unknown>;
  /** Default: a client on AWS_ENDPOINT_URL_DYNAMODB_STREAMS, else AWS_ENDPOINT_URL_DYNAMODB (DynamoDB Local serves both). */
  streams?: DynamoDBStreamsClient;
  /** For the on-failure destination. Default: a client on AWS_ENDPOINT_URL_SQS. */
  sqs?: SQSClient;
  /**
   * Turns DestinationConfig.OnFailure.Destination (a queue ARN, or the template's unresolved
   * reference) into the queue URL to send to. Default: the destination itself when it is a URL.
   */
  resolveDestination?: (destination: unknown) => string | undefined;
  /** The function's ARN in on-failure records. */
  functionArn?: string;
  /**
   * Pause between polls that found nothing new, while the stream may be busy (after a wake()). Default
   * 100 ms (AWS polls about 4 times a second).
   */
  pollIntervalMs?: number;
  /**
   * Pause between polls once nothing has come for a while and no wake() said otherwise: an idle twin
   * idles. Default: pollIntervalMs (no idling, for a caller that never calls wake()).
   */
  idlePollIntervalMs?: number;
  /** How long after a wake() (or a record) the poller keeps polling at pollIntervalMs. Default 1 s. */
  busyForMs?: number;
  /**
   * Pause between polls once nothing has come for quietAfterMs: the safety net for writes nothing announced,
   * on a twin nobody uses. Default: idlePollIntervalMs.
   */
  quietPollIntervalMs?: number;
  /** How long after its last wake() (or record) a stream counts as quiet. Default 10 s. */
  quietAfterMs?: number;
  /** How often the stream is described to find new shards. Default 1 s. */
  shardDiscoveryIntervalMs?: number;
  /** Errors of the poller itself (not of the function), e.g. an unreachable emulator. Default: console.error. */
  onError?: (error: unknown) => void;
}

export interface StreamPollerStats {
  invocations: number;
  failedInvocations: number;
  /** Records dropped by FilterCriteria. */
  filteredOut: number;
  /** On-failure records sent to the destination. */
  failureRecordsSent: number;
}

export interface StreamPoller {
  readonly stats: Readonly<StreamPollerStats>;
  /**
   * Resolves after a poll that began after this call found every shard read to its end and nothing
   * waiting to be retried: what has been written before the call has been handled (within a deadline
   * the caller should still impose).
   */
  idle(): Promise<void>;
  /**
   * Says the table was just written to: polls now and at pollIntervalMs for a while (a stream record
   * appears a few milliseconds after its write), rather than at the idle interval.
   */
  wake(): void;
  /** Stops polling; resolves once the invocation in flight, if any, has returned. Leaves no timers. */
  stop(): Promise<void>;
}

/** The stream ARN of a table (DescribeTable's LatestStreamArn). */
export async function latestStreamArn(dynamodb: DynamoDBClient, tableName: string): Promise<string> {
  const { Table } = await dynamodb.send(new DescribeTableCommand({ TableName: tableName }));
  if (!Table?.LatestStreamArn) throw new Error(`Table ${tableName} has no stream`);
  return Table.LatestStreamArn;
}

interface ShardState {
  shardId: string;
  parentShardId?: string;
  iterator?: string;
  /** The first iterator of a shard that existed when the poller started, per StartingPosition. */
  initialIteratorType: ShardIteratorType;
  /** Sequence number of the last record read from the shard, to resume after an expired iterator. */
  lastReadSequenceNumber?: string;
  /** The shard has no more records (GetRecords answered without NextShardIterator). */
  ended: boolean;
  /** Read but not yet checkpointed, in order. */
  pending: DynamoDBRecord[];
  pendingSince?: number;
  /** Failed invocations of the current head of `pending` (bisection excluded). */
  retries: number;
  /** The batch size after bisection; back to BatchSize after a success. */
  batchLimit: number;
}

export function startStreamPoller(options: StreamPollerOptions): StreamPoller {
  const { mapping, streamArn } = options;
  const batchSize = mapping.BatchSize ?? 100;
  const maxRetries = mapping.MaximumRetryAttempts ?? -1;
  const maxRecordAgeSeconds = mapping.MaximumRecordAgeInSeconds ?? -1;
  const batchingWindowMs = (mapping.MaximumBatchingWindowInSeconds ?? 0) * 1000;
  const pollIntervalMs = options.pollIntervalMs ?? 100;
  const idlePollIntervalMs = options.idlePollIntervalMs ?? pollIntervalMs;
  const busyForMs = options.busyForMs ?? 1000;
  const quietPollIntervalMs = options.quietPollIntervalMs ?? idlePollIntervalMs;
  const quietAfterMs = options.quietAfterMs ?? 10_000;
  const discoveryIntervalMs = options.shardDiscoveryIntervalMs ?? 1000;
  const onError = options.onError ?? ((error: unknown) => console.error('[stream-poller]', error));
  const endpoint = process.env.AWS_ENDPOINT_URL_DYNAMODB_STREAMS ?? process.env.AWS_ENDPOINT_URL_DYNAMODB;
  const ownStreams = options.streams ? undefined : new DynamoDBStreamsClient({ endpoint });
  const streams = options.streams ?? ownStreams!;
  const destination = mapping.DestinationConfig?.OnFailure?.Destination;
  const destinationUrl =
    destination === undefined
      ? undefined
      : (options.resolveDestination ?? ((value: unknown) => (typeof value === 'string' && /^https?:/.test(value) ? value : undefined)))(destination);
  if (destination !== undefined && !destinationUrl) {
    throw new Error(`Cannot resolve the on-failure destination ${JSON.stringify(destination)}: pass resolveDestination`);
  }
  const ownSqs = destinationUrl && !options.sqs ? new SQSClient({ endpoint: process.env.AWS_ENDPOINT_URL_SQS }) : undefined;
  const sqs = options.sqs ?? ownSqs;

  const stats: StreamPollerStats = { invocations: 0, failedInvocations: 0, filteredOut: 0, failureRecordsSent: 0 };
  const shards = new Map<string, ShardState>();
  const abort = new AbortController();
  let stopped = false;
  let pass = 0;
  let lastDiscovery = 0;
  let firstDiscovery = true;
  let busyUntil = Date.now() + busyForMs;
  /** Interrupts the pause between polls. */
  let pause: AbortController | undefined;
  const idleWaiters: Array<{ after: number; resolve: () => void }> = [];

  async function discoverShards(): Promise<void> {
    let exclusiveStartShardId: string | undefined;
    const found: Shard[] = [];
    do {
      const { StreamDescription } = await streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      found.push(...(StreamDescription?.Shards ?? []));
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId);
    for (const shard of found) {
      if (!shard.ShardId || shards.has(shard.ShardId)) continue;
      shards.set(shard.ShardId, {
        shardId: shard.ShardId,
        parentShardId: shard.ParentShardId,
        // Shards that appear later hold only records written after the poller started: read them whole.
        initialIteratorType: firstDiscovery && mapping.StartingPosition === 'LATEST' ? 'LATEST' : 'TRIM_HORIZON',
        ended: false,
        pending: [],
        retries: 0,
        batchLimit: batchSize,
      });
    }
    firstDiscovery = false;
    lastDiscovery = Date.now();
  }

  /** A shard is read until it has ended and everything read is handled; a child shard only after its parent. */
  const readable = (shard: ShardState) => {
    if (shard.ended && shard.pending.length === 0) return false;
    const parent = shard.parentShardId ? shards.get(shard.parentShardId) : undefined;
    return !parent || (parent.ended && parent.pending.length === 0);
  };

  /** Reads more records into `pending` when there is room; returns how many were read. */
  async function read(shard: ShardState): Promise<number> {
    if (shard.ended || shard.pending.length >= batchSize) return 0;
    if (!shard.iterator) {
      const { ShardIterator } = await streams.send(
        new GetShardIteratorCommand({
          StreamArn: streamArn,
          ShardId: shard.shardId,
          ...(shard.lastReadSequenceNumber
            ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', SequenceNumber: shard.lastReadSequenceNumber }
            : { ShardIteratorType: shard.initialIteratorType }),
        }),
      );
      shard.iterator = ShardIterator;
      if (!shard.iterator) {
        shard.ended = true;
        return 0;
      }
    }
    let page;
    try {
      page = await streams.send(new GetRecordsCommand({ ShardIterator: shard.iterator, Limit: 1000 }));
    } catch (error) {
      // DynamoDB Local numbers stream records across all tables: an iterator taken on a still-empty
      // shard points at a sequence number another table's write may take, and then reads as trimmed.
      // Either way, a fresh iterator (from the last record read, else the trim horizon) goes on.
      if (error instanceof Error && (error.name === 'ExpiredIteratorException' || error.name === 'TrimmedDataAccessException')) {
        shard.iterator = undefined;
        return 0;
      }
      throw error;
    }
    shard.iterator = page.NextShardIterator;
    if (!shard.iterator) shard.ended = true;
    const records = page.Records ?? [];
    for (const record of records) {
      shard.lastReadSequenceNumber = record.dynamodb?.SequenceNumber ?? shard.lastReadSequenceNumber;
      const lambdaRecord = toLambdaStreamRecord(record, streamArn);
      if (!matchesFilterCriteria(mapping.FilterCriteria, lambdaRecord)) {
        stats.filteredOut += 1;
        continue;
      }
      if (shard.pending.length === 0) shard.pendingSince = Date.now();
      shard.pending.push(lambdaRecord);
    }
    return records.length;
  }

  /**
   * Invokes the function with the shard's next batch when one is due. 'progress' when the checkpoint
   * moved, 'retry' when the batch is to be retried, 'none' when nothing was due.
   */
  async function invokeNextBatch(shard: ShardState): Promise<'progress' | 'retry' | 'none'> {
    if (shard.pending.length === 0) return 'none';
    const retrying = shard.retries > 0 || shard.batchLimit < batchSize;
    const waitingForMore =
      !retrying && shard.pending.length < batchSize && !shard.ended && Date.now() - (shard.pendingSince ?? 0) < batchingWindowMs;
    if (waitingForMore) return 'none';

    if (maxRecordAgeSeconds >= 0) {
      const oldestAllowed = Date.now() / 1000 - maxRecordAgeSeconds;
      const expired = shard.pending.findIndex((record) => (record.dynamodb?.ApproximateCreationDateTime ?? Infinity) >= oldestAllowed);
      const expiredCount = expired === -1 ? shard.pending.length : expired;
      if (expiredCount > 0) {
        await discard(shard, shard.pending.slice(0, expiredCount), 'RecordAgeExceeded');
        return 'progress';
      }
    }

    const batch = recordsWithinPayloadLimit(shard.pending.slice(0, Math.min(shard.batchLimit, batchSize)));
    stats.invocations += 1;
    let failedFrom: number | undefined;
    let functionError = false;
    try {
      const response = await options.invoke({ Records: batch });
      const sequenceNumbers = batch.map((record) => record.dynamodb?.SequenceNumber ?? '');
      const failed = reportedFailures(mapping, response, new Set(sequenceNumbers));
      if (failed === 'all') failedFrom = 0;
      else if (failed) failedFrom = sequenceNumbers.findIndex((sequenceNumber) => failed.has(sequenceNumber));
    } catch {
      functionError = true;
      failedFrom = 0;
    }

    if (failedFrom === undefined) {
      checkpoint(shard, batch.length);
      shard.batchLimit = batchSize;
      return 'progress';
    }
    stats.failedInvocations += 1;
    if (failedFrom > 0) checkpoint(shard, failedFrom);
    const remaining = batch.slice(failedFrom);
    if (functionError && mapping.BisectBatchOnFunctionError && remaining.length > 1) {
      shard.batchLimit = Math.ceil(remaining.length / 2);
      return 'retry';
    }
    shard.retries += 1;
    if (maxRetries >= 0 && shard.retries > maxRetries) {
      await discard(shard, remaining, 'RetryAttemptsExhausted');
      return 'progress';
    }
    return 'retry';
  }

  /** Moves the shard's checkpoint past the first `count` pending records. */
  function checkpoint(shard: ShardState, count: number): void {
    shard.pending.splice(0, count);
    shard.pendingSince = shard.pending.length > 0 ? Date.now() : undefined;
    shard.retries = 0;
  }

  /** Skips records for good, sending Lambda's on-failure record (a pointer to them) when a destination is set. */
  async function discard(shard: ShardState, records: DynamoDBRecord[], condition: 'RetryAttemptsExhausted' | 'RecordAgeExceeded'): Promise<void> {
    if (destinationUrl && sqs) {
      const first = records[0]!.dynamodb!;
      const last = records[records.length - 1]!.dynamodb!;
      const arrival = (seconds: number | undefined) => new Date((seconds ?? 0) * 1000).toISOString();
      const failureRecord = {
        requestContext: {
          requestId: randomUUID(),
          functionArn: options.functionArn ?? 'arn:aws:lambda:us-east-1:000000000000:function:local',
          condition,
          approximateInvokeCount: shard.retries,
        },
        responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
        version: '1.0',
        timestamp: new Date().toISOString(),
        DDBStreamBatchInfo: {
          shardId: shard.shardId,
          startSequenceNumber: first.SequenceNumber,
          endSequenceNumber: last.SequenceNumber,
          approximateArrivalOfFirstRecord: arrival(first.ApproximateCreationDateTime),
          approximateArrivalOfLastRecord: arrival(last.ApproximateCreationDateTime),
          batchSize: records.length,
          streamArn,
        },
      };
      // If the destination cannot be reached the records stay, and are retried, rather than vanish.
      await sqs.send(new SendMessageCommand({ QueueUrl: destinationUrl, MessageBody: JSON.stringify(failureRecord) }));
      stats.failureRecordsSent += 1;
    }
    checkpoint(shard, records.length);
    shard.batchLimit = batchSize;
  }

  async function run(): Promise<void> {
    while (!stopped) {
      const passNumber = ++pass;
      let busy = false;
      let progressed = false;
      try {
        // An idle stream is described 10 times less often (a new shard's records wait at most that long).
        const discoveryDue = Date.now() < busyUntil || idlePollIntervalMs === pollIntervalMs ? discoveryIntervalMs : 10 * discoveryIntervalMs;
        if (Date.now() - lastDiscovery >= discoveryDue) await discoverShards();
        for (const shard of shards.values()) {
          if (stopped) break;
          if (!readable(shard)) continue;
          const recordsRead = await read(shard);
          const outcome = await invokeNextBatch(shard);
          progressed ||= recordsRead > 0 || outcome === 'progress';
          busy ||= progressed || outcome !== 'none' || shard.pending.length > 0;
        }
      } catch (error) {
        busy = true;
        if (!stopped) onError(error);
      }
      if (!busy) {
        for (const waiter of idleWaiters.splice(0)) {
          if (waiter.after < passNumber) waiter.resolve();
          else idleWaiters.push(waiter);
        }
      }
      // Right on while records flow; otherwise (nothing new, a batching window, a retry) poll at the
      // interval while busy, at the idle interval once nothing has come for busyForMs.
      if (progressed || busy) busyUntil = Math.max(busyUntil, Date.now() + busyForMs);
      if (!stopped && !progressed) {
        pause = new AbortController();
        const onStop = () => pause?.abort();
        abort.signal.addEventListener('abort', onStop, { once: true });
        const now = Date.now();
        const sinceActivity = now - (busyUntil - busyForMs);
        await sleep(now < busyUntil ? pollIntervalMs : sinceActivity < quietAfterMs ? idlePollIntervalMs : quietPollIntervalMs, pause.signal);
        abort.signal.removeEventListener('abort', onStop);
        pause = undefined;
      }
    }
  }

  const loop = run();

  return {
    stats,
    idle: () =>
      new Promise<void>((resolve) => {
        idleWaiters.push({ after: pass, resolve });
        pause?.abort();
      }),
    wake() {
      busyUntil = Date.now() + busyForMs;
      pause?.abort();
    },
    async stop() {
      stopped = true;
      abort.abort();
      await loop;
      for (const waiter of idleWaiters.splice(0)) waiter.resolve();
      ownStreams?.destroy();
      ownSqs?.destroy();
    },
  };
}
