/**
 * The stack's dead letters, for operators: what is in each dead-letter queue, why it failed, which
 * payment it belongs to, and how to redrive it through the same idempotent path it failed on. AWS SDK
 * only, through an outputs file (tools/console/stack.ts), so it works on the twin and on a deployed
 * stack alike. `npm run dlq` and the console's redrive action (tools/console, --allow-actions) both use it.
 *
 * | queue (output) | what a message is | redrive |
 * |---|---|---|
 * | EventsDlq | an outbox event the saga starter failed on maxReceiveCount times | back to the events queue: SQS's StartMessageMoveTask for the whole queue where the endpoint has it, else receive + send (same body and group, deduplication id `redrive-<messageId>`) + delete. The starter starts the saga by its deterministic name: a second delivery is the same saga. |
 * | RelayDeadLetterQueue | a stream record the relay could not publish (kept whole), or a pointer whose records had left the stream | the records back through the relay: Invoke of the relay function with `{Records: [record]}`; the relay's events are deduplicated by the stream event id. A pointer has nothing left to replay: deleted only with --discard. |
 * | SagaFailuresQueue | a case a saga could not settle, or an item reconciliation handed over | by kind (see SAGA_FAILURE_KINDS): the saga started again under `<execution name>-redrive-<hash of the message id>`; every task is idempotent (processor keys `<paymentId>:<step>`, conditional table writes), so a second start (or redrive) settles nothing twice. |
 */
import { createHash } from 'node:crypto';
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, ExecutionAlreadyExists, StartExecutionCommand, type SFNClient } from '@aws-sdk/client-sfn';
import { ChangeMessageVisibilityCommand, DeleteMessageCommand, GetQueueAttributesCommand, ReceiveMessageCommand, SendMessageCommand, StartMessageMoveTaskCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';

export interface DeadLetterClients {
  readonly sqs: SQSClient;
  readonly sfn: SFNClient;
  /** Needed only to redrive the relay's dead letters. */
  readonly lambda?: LambdaClient;
}

export type DeadLetterKind = 'events' | 'relay' | 'relay-failures' | 'saga-failures' | 'other';

export interface QueueInfo {
  /** The output name without `Url` (EventsDlq, SagaFailuresQueue, ...). */
  label: string;
  url: string;
  name: string;
  arn?: string;
  deadLetter: boolean;
  kind: DeadLetterKind;
  visible: number;
  inFlight: number;
  delayed: number;
  redrive?: { deadLetterTargetArn: string; maxReceiveCount: number };
  /** The queues whose redrive policy moves messages here. */
  sources: Array<{ label: string; url: string; arn?: string; maxReceiveCount: number }>;
}

export interface DeadLetter {
  queue: string;
  messageId: string;
  sentAt: number;
  receiveCount: number;
  groupId?: string;
  /** The payment it belongs to, when the body names one. */
  paymentId?: string;
  refundId?: string;
  /** The saga failure's kind (SAGA_FAILURE_KINDS), or the relay's / redrive policy's reason. */
  kind?: string;
  /** Why it failed: the error and cause, or the reason recorded with it. */
  reason: string;
  /** How many times it was tried before it landed here, when known. */
  attempts?: number;
  /** What `redrive` does with it. */
  resolution: string;
  body: string;
}

/** What each kind of saga failure means and what a redrive does about it (README "Runbook"). */
export const SAGA_FAILURE_KINDS: Record<string, { meaning: string; resolution: string }> = {
  compensation_failed: {
    meaning: 'a compensation (void the authorization, refund the capture, mark failed, release a refund) failed on every retry',
    resolution: 'start the saga again: the steps that succeeded answer from their records (the processor keys <paymentId>:<step>), the compensation runs once more',
  },
  step_outcome_unknown: {
    meaning: 'a step whose outcome stayed unknown after every retry (the ledger posting, a refund at the processor timing out, the first status write); compensating blindly could undo money that moved',
    resolution: 'once the cause is fixed (the table or processor reachable), start the saga again: the step is retried under the same key and conditions, so it completes or finds it already done',
  },
  execution_ended: {
    meaning: "reconciliation found the item open while its saga's execution had ended (a lost terminal write, or an execution stopped by hand)",
    resolution: 'start the saga again under a redrive name: it re-reads the item and finishes it from where it is',
  },
  restarts_exhausted: {
    meaning: 'reconciliation restarted the saga maxRestarts times and the item is still open (with Express sagas the name does not stop a restart)',
    resolution: 'find why its executions fail (npm run console, the execution history), fix it, then start the saga again under a redrive name',
  },
};

export const STATE_MACHINE_OUTPUTS = { payment: 'PaymentSagaArn', refund: 'RefundSagaArn' } as const;

const kindOfOutput = (output: string): DeadLetterKind =>
  output.startsWith('EventsDlq') ? 'events' : output.startsWith('RelayDeadLetter') ? 'relay' : output.startsWith('RelayFailure') ? 'relay-failures' : output.startsWith('SagaFailures') ? 'saga-failures' : 'other';

const parseJson = (text: string | undefined): any => {
  try {
    return JSON.parse(text ?? '');
  } catch {
    return undefined;
  }
};

/** Step Functions execution names: at most 80 characters. */
export function redriveExecutionName(executionName: string, messageId: string): string {
  const suffix = `-redrive-${createHash('sha256').update(messageId).digest('hex').slice(0, 12)}`;
  return `${executionName.slice(0, 80 - suffix.length)}${suffix}`;
}

export class DeadLetters {
  constructor(
    private readonly clients: DeadLetterClients,
    private readonly outputs: Record<string, string>,
  ) {}

  private queueOutputs(): Array<{ output: string; label: string; url: string; deadLetter: boolean }> {
    return Object.entries(this.outputs)
      .filter(([name]) => /(QueueUrl|DlqUrl)$/.test(name))
      .map(([output, url]) => ({ output, label: output.replace(/Url$/, ''), url, deadLetter: /Dlq|DeadLetter|Failures(Queue)?Url$/.test(output) }));
  }

  /** Every queue of the outputs with its depth and redrive policy; dead-letter queues with their sources. */
  async queues(): Promise<QueueInfo[]> {
    const queues = await Promise.all(
      this.queueOutputs().map(async (queue) => {
        const { Attributes = {} } = await this.clients.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queue.url, AttributeNames: ['All'] }));
        return {
          label: queue.label,
          url: queue.url,
          deadLetter: queue.deadLetter,
          kind: kindOfOutput(queue.output),
          name: queue.url.split('/').pop()!,
          arn: Attributes.QueueArn,
          visible: Number(Attributes.ApproximateNumberOfMessages ?? 0),
          inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
          delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
          redrive: Attributes.RedrivePolicy ? (JSON.parse(Attributes.RedrivePolicy) as { deadLetterTargetArn: string; maxReceiveCount: number }) : undefined,
        };
      }),
    );
    return queues.map((queue) => ({
      ...queue,
      sources: queues
        .filter((source) => queue.arn !== undefined && source.redrive?.deadLetterTargetArn === queue.arn)
        .map((source) => ({ label: source.label, url: source.url, arn: source.arn, maxReceiveCount: source.redrive!.maxReceiveCount })),
    }));
  }

  async deadLetterQueue(label: string): Promise<QueueInfo> {
    const queues = await this.queues();
    const queue = queues.find((candidate) => candidate.deadLetter && candidate.label.toLowerCase() === label.toLowerCase());
    if (!queue) throw new Error(`No dead-letter queue ${label}: one of ${queues.filter((candidate) => candidate.deadLetter).map((candidate) => candidate.label).join(', ')}`);
    return queue;
  }

  /**
   * The messages of every dead-letter queue (or of `label`), up to `limit` each, oldest first. Peeking
   * receives with a visibility timeout of 0, as the AWS console's "poll for messages" does: the messages
   * stay in the queue, but their receive count grows.
   */
  async list(label?: string, limit = 50): Promise<Array<{ queue: QueueInfo; messages: DeadLetter[] }>> {
    const queues = label ? [await this.deadLetterQueue(label)] : (await this.queues()).filter((queue) => queue.deadLetter);
    return Promise.all(
      // In flight counts too: a message peeked a moment ago (visibility timeout 0) is visible again at once on SQS,
      // but the twin's fauxqs counts it in flight until the next receive: peeking only `visible` would lose it.
      queues.map(async (queue) => ({ queue, messages: await this.messagesOf(queue, limit) })),
    );
  }

  /** Up to `limit` messages of one dead-letter queue (as `queues()` found it), peeked as `list` does. */
  async messagesOf(queue: QueueInfo, limit = 50): Promise<DeadLetter[]> {
    return (await this.peek(queue.url, Math.max(queue.visible + queue.inFlight, 1), limit)).map((message) => this.describe(queue, message));
  }

  async show(messageId: string, label?: string): Promise<DeadLetter | undefined> {
    for (const { messages } of await this.list(label, 500)) {
      const found = messages.find((message) => message.messageId === messageId);
      if (found) return found;
    }
    return undefined;
  }

  private async peek(queueUrl: string, depth: number, limit: number): Promise<Message[]> {
    const seen = new Map<string, Message>();
    for (let attempt = 0; attempt < Math.ceil(limit / 10) + 4 && seen.size < Math.min(depth, limit); attempt += 1) {
      const { Messages = [] } = await this.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, VisibilityTimeout: 0, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
      );
      for (const message of Messages) if (message.MessageId && !seen.has(message.MessageId)) seen.set(message.MessageId, message);
      if (Messages.length === 0) break;
    }
    return [...seen.values()].sort((a, b) => Number(a.Attributes?.SentTimestamp ?? 0) - Number(b.Attributes?.SentTimestamp ?? 0)).slice(0, limit);
  }

  /** What a dead message is, from what it carries and the queue it is in. */
  describe(queue: QueueInfo, message: Message): DeadLetter {
    const body = parseJson(message.Body);
    const base = {
      queue: queue.label,
      messageId: message.MessageId!,
      sentAt: Number(message.Attributes?.SentTimestamp ?? 0),
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? 0),
      groupId: message.Attributes?.MessageGroupId,
      body: message.Body ?? '',
      reason: whyDead(message, queue.sources),
    };
    if (queue.kind === 'events') {
      return {
        ...base,
        paymentId: typeof body?.paymentId === 'string' ? body.paymentId : undefined,
        refundId: typeof body?.refundId === 'string' ? body.refundId : undefined,
        kind: typeof body?.type === 'string' ? body.type : 'not a payment event',
        attempts: queue.sources[0]?.maxReceiveCount,
        resolution: 'moved back to the events queue; the saga starter starts the saga by its deterministic name (a started saga is not started twice)',
      };
    }
    if (queue.kind === 'relay') {
      const image = body?.dynamodb?.NewImage ?? body?.dynamodb?.OldImage;
      const pointer = body?.DDBStreamBatchInfo !== undefined;
      return {
        ...base,
        paymentId: image?.entity?.S === 'refund' ? image?.paymentId?.S : image?.id?.S,
        refundId: image?.entity?.S === 'refund' ? image?.id?.S : undefined,
        kind: message.MessageAttributes?.reason?.StringValue?.split(':')[0] ?? (pointer ? 'stream pointer' : 'stream record'),
        resolution: pointer
          ? 'nothing to replay: the records had left the stream before they could be kept (deleted only with --discard); reconciliation restarts any payment they left open'
          : 'the record sent back through the relay function ({Records: [record]}); its event is deduplicated by the stream event id',
      };
    }
    if (queue.kind === 'saga-failures') {
      const kind = sagaFailureKind(body);
      const state = body?.state ?? body?.input ?? {};
      return {
        ...base,
        paymentId: typeof state.paymentId === 'string' ? state.paymentId : body?.item?.paymentId ?? body?.item?.id,
        refundId: typeof state.refundId === 'string' ? state.refundId : undefined,
        kind,
        attempts: typeof body?.item?.reconcileRestarts === 'number' ? body.item.reconcileRestarts : undefined,
        resolution: SAGA_FAILURE_KINDS[kind]?.resolution ?? 'not a saga failure this tool knows: resolve by hand',
      };
    }
    return { ...base, resolution: 'not redriven by this tool' };
  }

  /**
   * Redrives `messageId` (or every message) of the dead-letter queue `label`. A message is deleted from
   * the dead-letter queue only after its redrive was accepted; redriving it again finds nothing.
   */
  async redrive(label: string, messageId?: string, options: { discardPointers?: boolean } = {}): Promise<RedriveReport> {
    const queue = await this.deadLetterQueue(label);
    if (queue.kind === 'events' && messageId === undefined) {
      const moved = await this.startMessageMove(queue);
      if (moved) return moved;
    }
    const report: RedriveReport = { queue: queue.label, redriven: [], skipped: [], method: 'receive, redrive, delete' };
    const handled = new Set<string>();
    const seen = new Set<string>();
    // Until three receives in a row bring nothing new (SQS samples its servers: one empty receive proves little).
    for (let fruitless = 0, receives = 0; fruitless < 3 && receives < 1_000; receives += 1) {
      const { Messages = [] } = await this.clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10, VisibilityTimeout: 30, WaitTimeSeconds: 0, MessageSystemAttributeNames: ['All'], MessageAttributeNames: ['All'] }),
      );
      const unseen = Messages.filter((message) => !seen.has(message.MessageId!));
      fruitless = unseen.length === 0 ? fruitless + 1 : 0;
      for (const message of unseen) seen.add(message.MessageId!);
      for (const message of Messages) {
        if (handled.has(message.MessageId!) || (messageId !== undefined && message.MessageId !== messageId)) {
          // Not ours to touch: visible again at once.
          await this.clients.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle!, VisibilityTimeout: 0 }));
          continue;
        }
        handled.add(message.MessageId!);
        const outcome = await this.redriveOne(queue, message, options);
        if (outcome.done) {
          await this.clients.sqs.send(new DeleteMessageCommand({ QueueUrl: queue.url, ReceiptHandle: message.ReceiptHandle! }));
          report.redriven.push({ messageId: message.MessageId!, to: outcome.to });
        } else {
          report.skipped.push({ messageId: message.MessageId!, why: outcome.why });
        }
      }
      if (messageId !== undefined && handled.has(messageId)) break;
    }
    return report;
  }

  /** SQS's own redrive of a whole DLQ to its source, where the endpoint implements it (AWS); undefined where it does not (the twin). */
  private async startMessageMove(queue: QueueInfo): Promise<RedriveReport | undefined> {
    if (!queue.arn || queue.sources.length !== 1) return undefined;
    try {
      const { TaskHandle } = await this.clients.sqs.send(new StartMessageMoveTaskCommand({ SourceArn: queue.arn, DestinationArn: queue.sources[0]!.arn }));
      return { queue: queue.label, redriven: [], skipped: [], method: `SQS StartMessageMoveTask ${TaskHandle ?? ''}`.trim(), moveTask: TaskHandle };
    } catch (error) {
      const name = (error as Error).name;
      if (/UnsupportedOperation|UnknownOperation|InvalidAction|NotImplemented|InvalidParameterValue|UnknownOperationException/i.test(name) || /not (supported|implemented)|unknown operation/i.test((error as Error).message)) return undefined;
      throw error;
    }
  }

  private async redriveOne(queue: QueueInfo, message: Message, options: { discardPointers?: boolean }): Promise<{ done: true; to: string } | { done: false; why: string }> {
    if (queue.kind === 'events') {
      const source = queue.sources[0];
      if (!source) return { done: false, why: 'no queue redrives to this one' };
      const fifo = source.url.endsWith('.fifo');
      await this.clients.sqs.send(
        new SendMessageCommand({
          QueueUrl: source.url,
          MessageBody: message.Body!,
          ...(message.MessageAttributes && Object.keys(message.MessageAttributes).length > 0 ? { MessageAttributes: message.MessageAttributes } : {}),
          ...(fifo ? { MessageGroupId: message.Attributes?.MessageGroupId ?? message.MessageId!, MessageDeduplicationId: `redrive-${message.MessageId}` } : {}),
        }),
      );
      return { done: true, to: source.label };
    }
    if (queue.kind === 'relay') {
      const record = parseJson(message.Body);
      if (record?.DDBStreamBatchInfo !== undefined) return options.discardPointers ? { done: true, to: 'discarded (records no longer in the stream)' } : { done: false, why: 'a stream pointer whose records are gone: nothing to replay (--discard deletes it)' };
      if (!record?.dynamodb) return { done: false, why: 'not a stream record' };
      const functionName = this.outputs.OutboxRelayFunctionName;
      if (!functionName || !this.clients.lambda) return { done: false, why: 'the outputs name no relay function (OutboxRelayFunctionName), or no Lambda client' };
      const { FunctionError, Payload } = await this.clients.lambda.send(new InvokeCommand({ FunctionName: functionName, Payload: Buffer.from(JSON.stringify({ Records: [record] })) }));
      const result = parseJson(Payload ? Buffer.from(Payload).toString('utf8') : '');
      if (FunctionError) return { done: false, why: `the relay failed: ${result?.errorMessage ?? FunctionError}` };
      if (Array.isArray(result?.batchItemFailures) && result.batchItemFailures.length > 0) return { done: false, why: 'the relay could not publish it yet (partial batch failure): try again' };
      return { done: true, to: `relay ${functionName}` };
    }
    if (queue.kind === 'saga-failures') {
      const body = parseJson(message.Body);
      const kind = sagaFailureKind(body);
      if (!SAGA_FAILURE_KINDS[kind]) return { done: false, why: `unknown saga failure (${kind}): resolve by hand` };
      const saga: 'payment' | 'refund' = body.saga === 'refund' ? 'refund' : 'payment';
      const input = body.source === 'reconciliation' ? body.input : sagaInput(saga, body.state);
      const executionName = body.executionName ?? `${saga}-${saga === 'refund' ? input?.refundId : input?.paymentId}`;
      if (!input?.paymentId || (saga === 'refund' && !input.refundId)) return { done: false, why: 'the message names no payment (or refund) to restart' };
      const stateMachineArn = this.outputs[STATE_MACHINE_OUTPUTS[saga]];
      if (!stateMachineArn) return { done: false, why: `the outputs have no ${STATE_MACHINE_OUTPUTS[saga]}` };
      const name = redriveExecutionName(executionName, message.MessageId!);
      try {
        await this.clients.sfn.send(new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }));
      } catch (error) {
        if (!(error instanceof ExecutionAlreadyExists) && (error as Error).name !== 'ExecutionAlreadyExists') throw error;
      }
      return { done: true, to: `${saga} saga execution ${name}` };
    }
    return { done: false, why: `${queue.label} is not redriven by this tool` };
  }

  /** The status of a redrive execution (for a test, or an operator waiting on it). */
  async executionStatus(saga: 'payment' | 'refund', name: string): Promise<string | undefined> {
    const stateMachineArn = this.outputs[STATE_MACHINE_OUTPUTS[saga]]!;
    const { status } = await this.clients.sfn.send(new DescribeExecutionCommand({ executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}` }));
    return status;
  }
}

export interface RedriveReport {
  queue: string;
  method: string;
  moveTask?: string;
  redriven: Array<{ messageId: string; to: string }>;
  skipped: Array<{ messageId: string; why: string }>;
}

/** The kind of a saga-failures message (SAGA_FAILURE_KINDS), from its body. */
export function sagaFailureKind(body: any): string {
  if (!body || typeof body !== 'object') return 'not JSON';
  if (body.source === 'reconciliation') return typeof body.kind === 'string' ? body.kind : 'execution_ended';
  if (body.state?.compensationError) return 'compensation_failed';
  if (body.state?.error) return 'step_outcome_unknown';
  return 'unknown';
}

/** The saga's input from the state it failed in (the input is carried along: paymentId, refundId). */
function sagaInput(saga: 'payment' | 'refund', state: any): Record<string, string> | undefined {
  if (!state || typeof state.paymentId !== 'string') return undefined;
  return saga === 'refund' ? { paymentId: state.paymentId, refundId: state.refundId } : { paymentId: state.paymentId };
}

/** Why a message is in a dead-letter queue, from what it carries and the redrive policy that moved it. */
export function whyDead(message: Message, sources: Array<{ label: string; maxReceiveCount: number }>): string {
  const attributes = message.MessageAttributes ?? {};
  const reasons: string[] = [];
  if (attributes.reason?.StringValue) reasons.push(`${attributes.origin?.StringValue ? `${attributes.origin.StringValue}: ` : ''}${attributes.reason.StringValue}`);
  const body = parseJson(message.Body);
  const failure = body && typeof body === 'object' ? findError(body) : undefined;
  if (body?.source === 'reconciliation' && typeof body.reason === 'string') reasons.push(`reconciliation: ${body.reason}`);
  else if (body?.executionName && failure) reasons.push(`saga ${body.executionName} could not settle the case: ${failure}`);
  else if (failure) reasons.push(failure);
  const source = message.Attributes?.DeadLetterQueueSourceArn?.split(':').pop() ?? sources.map((candidate) => candidate.label).join(' or ');
  if (sources.length > 0 || message.Attributes?.DeadLetterQueueSourceArn) {
    const max = sources[0]?.maxReceiveCount;
    const shape = body === undefined ? 'its body is not JSON' : typeof body?.type !== 'string' || typeof body?.paymentId !== 'string' ? 'its body is not a payment event' : undefined;
    reasons.push(`moved by the redrive policy of ${source}${max ? ` after ${max} receives` : ''}: its consumer failed every time${shape ? ` (${shape})` : ''}`);
  }
  return reasons.join('; ') || 'no reason recorded';
}

function findError(value: any, depth = 0): string | undefined {
  if (!value || typeof value !== 'object' || depth > 3) return undefined;
  const error = value.Error ?? value.error;
  const cause = value.Cause ?? value.cause;
  if (typeof error === 'string') return `${error}${typeof cause === 'string' ? `: ${cause.slice(0, 300)}` : ''}`;
  for (const child of Object.values(value)) {
    const found = findError(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}
