import { CreateQueueCommand, GetQueueAttributesCommand, type QueueAttributeName, type SQSClient } from '@aws-sdk/client-sqs';
import type { TemplateValue } from '../intrinsics.ts';
import type { LocalReferences } from '../references.ts';
import { referencedLogicalIds, resourcesOfType, type CfnTemplate } from '../template.ts';

export interface LocalQueue {
  logicalId: string;
  name: string;
  /** The URL CreateQueue returned: use it as is (fauxqs looks queues up by exact URL). */
  url: string;
  arn: string;
  fifo: boolean;
  /**
   * The scaled visibility timeout, when the queue's own had to stay longer (`minimumVisibilitySeconds`): a
   * message whose invocation failed should come back this long after it was received, as it would on AWS at
   * the same scale, not after the function's timeout (see SqsPollerOptions.visibilityAfterFailureSeconds).
   */
  visibilityAfterFailureSeconds?: number;
}

export interface CreateQueuesOptions {
  /**
   * Multiplies every queue's visibility timeout (the template's, or SQS's default 30 s), e.g. 0.05 in
   * tests so that a failed message comes back (and reaches its DLQ) in seconds. At least 1 s is kept.
   */
  visibilityTimeoutScale?: number;
  /**
   * Per queue logical id, the fewest seconds a scaled visibility timeout may have: the timeout of the
   * function an SQS mapping feeds from it. Shorter, a message comes back while it is still being
   * processed (AWS refuses such a mapping); function timeouts are never scaled.
   */
  minimumVisibilitySeconds?: Record<string, number>;
}

/** Queue logical id -> timeout (s) of the function an SQS event source mapping feeds from it (for `minimumVisibilitySeconds`). */
export function consumerTimeouts(template: CfnTemplate): Record<string, number> {
  const timeouts: Record<string, number> = {};
  for (const [, mapping] of resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')) {
    const props = (mapping.Properties ?? {}) as { EventSourceArn?: { 'Fn::GetAtt'?: [string, string] }; FunctionName?: { Ref?: string } };
    const queueId = props.EventSourceArn?.['Fn::GetAtt']?.[0];
    const functionId = props.FunctionName?.Ref;
    if (!queueId || !functionId || template.Resources[queueId]?.Type !== 'AWS::SQS::Queue') continue;
    const timeout = Number(template.Resources[functionId]?.Properties?.Timeout ?? 3);
    timeouts[queueId] = Math.max(timeouts[queueId] ?? 0, timeout);
  }
  return timeouts;
}

/** CloudFormation properties that are SQS queue attributes of the same name. */
const ATTRIBUTE_PROPERTIES = [
  'ContentBasedDeduplication',
  'DeduplicationScope',
  'DelaySeconds',
  'FifoQueue',
  'FifoThroughputLimit',
  'MaximumMessageSize',
  'MessageRetentionPeriod',
  'ReceiveMessageWaitTimeSeconds',
  'VisibilityTimeout',
] as const;
/** Properties whose value is a JSON policy, passed to SQS as a JSON string. */
const JSON_ATTRIBUTE_PROPERTIES = ['RedrivePolicy', 'RedriveAllowPolicy'] as const;
/** Encryption at rest has no local meaning; the queue behaves the same without it. */
const IGNORED_PROPERTIES = new Set(['QueueName', 'Tags', 'KmsMasterKeyId', 'KmsDataKeyReusePeriodSeconds', 'SqsManagedSseEnabled']);
const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 30;

/** The queue's local name: its QueueName, else its logical id (with `.fifo` for a FIFO queue), at most 80 characters. */
export function localQueueName(logicalId: string, properties: Record<string, TemplateValue>): string {
  if (typeof properties.QueueName === 'string') return properties.QueueName;
  const fifo = properties.FifoQueue === true || properties.FifoQueue === 'true';
  return fifo ? `${logicalId.slice(0, 75)}.fifo` : logicalId.slice(0, 80);
}

/**
 * Creates every AWS::SQS::Queue of the template (dead-letter queues before the queues that redrive
 * to them) with its attributes, and records each queue's Ref (URL) and Arn/QueueName/QueueUrl in
 * `references`.
 */
export async function createQueuesFromTemplate(
  sqs: SQSClient,
  template: CfnTemplate,
  references: LocalReferences,
  options: CreateQueuesOptions = {},
): Promise<Record<string, LocalQueue>> {
  const pending = new Map(resourcesOfType(template, 'AWS::SQS::Queue'));
  const queues: Record<string, LocalQueue> = {};
  while (pending.size > 0) {
    const ready = [...pending].filter(([, resource]) => [...referencedLogicalIds(resource.Properties ?? {})].every((id) => !pending.has(id)));
    if (ready.length === 0) throw new Error(`Queues that refer to each other: ${[...pending.keys()].join(', ')}`);
    for (const [logicalId, resource] of ready) {
      pending.delete(logicalId);
      const properties = references.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
      const unknown = Object.keys(properties).filter(
        (name) => !IGNORED_PROPERTIES.has(name) && !(ATTRIBUTE_PROPERTIES as readonly string[]).includes(name) && !(JSON_ATTRIBUTE_PROPERTIES as readonly string[]).includes(name),
      );
      if (unknown.length > 0) throw new Error(`${logicalId}: queue properties not supported locally: ${unknown.join(', ')}`);

      const attributes: Partial<Record<QueueAttributeName, string>> = {};
      for (const name of ATTRIBUTE_PROPERTIES) if (properties[name] !== undefined) attributes[name] = String(properties[name]);
      for (const name of JSON_ATTRIBUTE_PROPERTIES) {
        const value = properties[name];
        if (value !== undefined) attributes[name] = typeof value === 'string' ? value : JSON.stringify(value);
      }
      let visibilityAfterFailureSeconds: number | undefined;
      if (options.visibilityTimeoutScale !== undefined) {
        const seconds = Number(properties.VisibilityTimeout ?? DEFAULT_VISIBILITY_TIMEOUT_SECONDS);
        const floor = Math.max(1, options.minimumVisibilitySeconds?.[logicalId] ?? 0);
        const scaled = Math.max(1, Math.round(seconds * options.visibilityTimeoutScale));
        const kept = seconds === 0 ? 0 : Math.min(seconds, Math.max(floor, scaled));
        attributes.VisibilityTimeout = String(kept);
        if (kept > scaled) visibilityAfterFailureSeconds = scaled;
      }
      const name = localQueueName(logicalId, properties);
      const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
      const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }));
      const queue: LocalQueue = { logicalId, name, url: QueueUrl!, arn: Attributes!.QueueArn!, fifo: attributes.FifoQueue === 'true', ...(visibilityAfterFailureSeconds ? { visibilityAfterFailureSeconds } : {}) };
      queues[logicalId] = queue;
      references.set(logicalId, queue.url, { Arn: queue.arn, QueueName: queue.name, QueueUrl: queue.url });
    }
  }
  return queues;
}
