/** The template's event source mappings, each started as a poller that invokes its function as Lambda does. */
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { TemplateValue } from '../intrinsics.ts';
import type { LocalLambdaRuntime } from '../lambda/runtime.ts';
import type { LocalReferences, ReferenceRegistry } from '../references.ts';
import type { LocalQueue } from '../sqs/queues.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';
import type { EventSourceMappingProperties } from './mapping.ts';
import { startSqsPoller, type SqsPoller } from './sqs-poller.ts';
import { startStreamPoller, type StreamPoller } from './stream-poller.ts';

/** Lambda starts an SQS event source mapping with five pollers. */
const SQS_POLLER_CONCURRENCY = 5;
/** Lambda long-polls SQS for up to 20 s: an idle queue costs a receive per poller every 20 s, and a message wakes it at once. */
const SQS_LONG_POLL_SECONDS = 20;

/** What Ref of the template's event source mappings means locally: its logical id (its UUID on AWS). */
export function registerEventSourceMappingReferences(template: CfnTemplate, references: ReferenceRegistry): void {
  for (const [logicalId] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) references.set(logicalId, logicalId);
}

export interface EventSourceMappingsOptions {
  template: CfnTemplate;
  references: LocalReferences;
  lambdas: LocalLambdaRuntime;
  /** The stack's queues (SQS sources, and on-failure destinations of stream mappings). */
  queues: readonly LocalQueue[];
  /** The stack's table streams. */
  streamArns: ReadonlySet<string>;
  sqs: SQSClient;
  streams: DynamoDBStreamsClient;
  /** Errors of the pollers themselves (not of the functions). */
  log: (line: string) => void;
  /** The clients a mapping polls with (signed as its function's execution role), over `sqs` and `streams`. */
  clientsFor?: (functionLogicalId: string) => { sqs: SQSClient; streams: DynamoDBStreamsClient };
  /**
   * Rejects when the function's role may not use the source (or the on-failure destination): Lambda then
   * refuses to create the mapping, and the runner refuses to start.
   */
  checkPermissions?: (mappingLogicalId: string, functionLogicalId: string, source: { kind: 'sqs' | 'stream'; arn: string }, destinationArn?: string) => Promise<void>;
  /**
   * How often stream pollers poll (see StreamPollerOptions): pass an idle interval only when something
   * calls `wakeStreams()` on every write to the tables. Default: every 100 ms, always.
   */
  streamPolling?: { pollIntervalMs?: number; idlePollIntervalMs?: number; quietPollIntervalMs?: number };
}

export interface LocalEventSourceMappings {
  readonly pollers: ReadonlyArray<StreamPoller | SqsPoller>;
  /** A table was written to: its stream's pollers poll now rather than at their idle interval. */
  wakeStreams(): void;
  stop(): Promise<void>;
}

/**
 * Starts a poller for every enabled mapping: an SQS poller for a queue of the stack, a stream poller for
 * a table stream of the stack. Any other source is refused (and what was started is stopped).
 */
export async function startEventSourceMappings(options: EventSourceMappingsOptions): Promise<LocalEventSourceMappings> {
  const { references, lambdas, log } = options;
  const queueByArn = new Map(options.queues.map((queue) => [queue.arn, queue]));
  const pollers: Array<StreamPoller | SqsPoller> = [];
  const streamPollers: StreamPoller[] = [];
  const stop = () => Promise.all(pollers.map((poller) => poller.stop())).then(() => undefined);
  try {
    for (const [logicalId, resource] of resourcesOfType(options.template, 'AWS::Lambda::EventSourceMapping')) {
      const { EventSourceArn, FunctionName, ...mapping } = references.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
      const properties = mapping as EventSourceMappingProperties;
      if (properties.Enabled === false) continue;
      const fn = lambdas.find(String(FunctionName));
      if (!fn) throw new Error(`${logicalId}: FunctionName ${String(FunctionName)} is not a function of the stack`);
      const onError = (error: unknown) => log(`event source mapping ${logicalId}: ${error instanceof Error ? error.message : String(error)}`);
      const invoke = (event: unknown) => lambdas.invoke(fn.logicalId, event);
      const { sqs, streams } = options.clientsFor?.(fn.logicalId) ?? options;
      const queue = queueByArn.get(String(EventSourceArn));
      const destination = (mapping.DestinationConfig as { OnFailure?: { Destination?: TemplateValue } } | undefined)?.OnFailure?.Destination;
      if (queue || options.streamArns.has(String(EventSourceArn))) {
        await options.checkPermissions?.(logicalId, fn.logicalId, { kind: queue ? 'sqs' : 'stream', arn: String(EventSourceArn) }, destination === undefined ? undefined : String(destination));
      }
      if (queue) {
        // No more batches in flight than the function has environments: a batch waiting for one would see its
        // visibility timeout run out and be received again (counting towards its dead-letter queue) before it ran.
        const maximum = (mapping.ScalingConfig as { MaximumConcurrency?: number } | undefined)?.MaximumConcurrency ?? SQS_POLLER_CONCURRENCY;
        const concurrency = Math.min(maximum, lambdas.environmentsLimit(fn.logicalId) ?? maximum);
        pollers.push(
          startSqsPoller({
            queueUrl: queue.url,
            queueArn: queue.arn,
            mapping: properties,
            invoke,
            sqs,
            concurrency,
            onError,
            waitTimeSeconds: SQS_LONG_POLL_SECONDS,
            visibilityAfterFailureSeconds: queue.visibilityAfterFailureSeconds,
          }),
        );
      } else if (options.streamArns.has(String(EventSourceArn))) {
        const poller = startStreamPoller({
            ...options.streamPolling,
            streamArn: String(EventSourceArn),
            mapping: properties,
            invoke,
            streams,
            sqs,
            functionArn: fn.arn,
            resolveDestination: (destination) => queueByArn.get(String(destination))?.url,
            onError,
          });
        streamPollers.push(poller);
        pollers.push(poller);
      } else {
        throw new Error(`${logicalId}: event source ${String(EventSourceArn)} is not supported locally (DynamoDB streams and SQS queues of the stack)`);
      }
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pollers, stop, wakeStreams: () => streamPollers.forEach((poller) => poller.wake()) };
}
