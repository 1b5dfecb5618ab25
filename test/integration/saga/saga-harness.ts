/**
 * Runs the SYNTHESIZED saga state machines of the test cloud assembly with aws-local-stepfunctions.
 * Every Lambda task runs the real bundled handler (cdk.out asset `index.mjs`), imported in-process
 * with process.env pointing at fresh DynamoDB Local tables; SendToSagaFailures sends to a real
 * fauxqs queue. Retry pauses are shortened to 1 ms (the definition's Retry fields still decide what
 * is retried and how often).
 */
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand, GetCommand, PutCommand, QueryCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { expect } from 'vitest';
import { paymentItem, paymentKey, refundItem, refundKey, type PaymentItem, type PostingItem, type RefundItem } from '../../../lambdas/adapters/dynamodb/payments-items.ts';
import { newPayment } from '../../../lambdas/domain/payment.ts';
import { newRefund } from '../../../lambdas/domain/refund.ts';
import { isBalanced, totalBalanceByCurrency } from '../../../lambdas/domain/ledger.ts';
import type { Currency } from '../../../lambdas/domain/money.ts';
import type { ProcessorRecord } from '../../../lambdas/adapters/simulated-processor.ts';
import { LocalStepFunctions, type ExecutionRecord } from '../../../tools/local-runner/step-functions/executions.ts';
import { loadStateMachines, type LocalStateMachine } from '../../../tools/local-runner/step-functions/machines.ts';
import type { CfnTemplate } from '../../../tools/local-runner/template.ts';
import { createTestTables, documentClient, sqsClient, testTemplate } from '../../support/aws.ts';
import { lambdaContext } from '../../support/api-events.ts';
import { testCdkOut } from '../../support/paths.ts';

type Handler = (event: unknown, context: unknown) => Promise<unknown>;

export interface SagaHarness {
  readonly tables: Record<string, string>;
  readonly stepFunctions: LocalStepFunctions;
  readonly paymentSaga: LocalStateMachine;
  readonly refundSaga: LocalStateMachine;
  readonly sagaFailuresQueueUrl: string;
  /** Starts the payment saga (execution name `payment-<id>` unless given) and waits for it to stop. */
  runPaymentSaga(paymentId: string, name?: string): Promise<ExecutionRecord>;
  runRefundSaga(paymentId: string, refundId: string, name?: string): Promise<ExecutionRecord>;
  /**
   * Fault injection: from now on the function behind `stateName` runs a second copy of its bundle,
   * imported with `env` overriding the test environment (e.g. a table that does not exist). Returns
   * a function that puts the real one back.
   */
  injectFault(stateName: string, env: Record<string, string>): Promise<() => void>;
  /**
   * Fault injection: every invocation of the state's function fails before its code runs, with `errorName` (as
   * Lambda's own errors do, e.g. `Lambda.ServiceException`). Returns a function that puts the real one back.
   */
  failInvocations(stateName: string, errorName: string): () => void;
  seedPayment(input?: { source?: string; amount?: number; currency?: Currency; merchantId?: string; status?: PaymentItem['status']; amountCaptured?: number }): Promise<PaymentItem>;
  seedRefund(payment: PaymentItem, amount: number): Promise<RefundItem>;
  payment(paymentId: string): Promise<PaymentItem>;
  refund(paymentId: string, refundId: string): Promise<RefundItem>;
  postings(paymentId: string): Promise<PostingItem[]>;
  processorRecords(reference: string): Promise<ProcessorRecord[]>;
  /** Deletes the processor's records of `reference`, as a real processor forgets idempotency keys after a while (Stripe: 24 hours). */
  forgetProcessorRecords(reference: string): Promise<void>;
  /** Messages now in the saga-failures queue (received and deleted). */
  drainSagaFailures(): Promise<Array<Record<string, any>>>;
  /** DESIGN §6 invariants for one payment; see {@link assertPaymentInvariants}. */
  assertInvariants(paymentId: string): Promise<void>;
}

/** The bundled module of a function: `<cdk.out>/<aws:asset:path>/index.mjs`, or the asset its S3 key names (no asset metadata in an App synthesized outside the CLI). */
const asset = (template: CfnTemplate, logicalId: string) => {
  const resource = template.Resources[logicalId];
  const metadataPath = resource?.Metadata?.['aws:asset:path'];
  const s3Key = resource?.Properties?.Code?.S3Key;
  const path = typeof metadataPath === 'string' ? metadataPath : typeof s3Key === 'string' ? `asset.${s3Key.replace(/\.zip$/, '')}` : undefined;
  if (!path) throw new Error(`${logicalId} has no bundled asset`);
  return pathToFileURL(join(testCdkOut(), path, 'index.mjs')).href;
};

/** One harness per test file: the bundles read the environment once, when first imported. */
export async function createSagaHarness(
  options: {
    retryIntervalMs?: number;
    /** Per state: its retriers' pauses in ms (one per retrier, in order); every other state pauses `retryIntervalMs`. */
    retryIntervals?: Record<string, number | number[]>;
  } = {},
): Promise<SagaHarness> {
  const template = testTemplate() as CfnTemplate;
  const tables = await createTestTables();
  Object.assign(process.env, tables);
  const db = documentClient();
  const sqs = sqsClient();

  const queueLogicalId = Object.keys(template.Resources).find((id) => template.Resources[id]!.Type === 'AWS::SQS::Queue' && id.includes('SagaFailuresQueue'));
  if (!queueLogicalId) throw new Error('No saga-failures queue in the template');
  const { QueueUrl: sagaFailuresQueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: `saga-failures-${randomUUID().slice(0, 8)}` }));

  const handlers = new Map<string, Handler>();
  const faults = new Map<string, Handler>();
  const importHandler = async (logicalId: string, cacheBuster = ''): Promise<Handler> => {
    const module = (await import(/* @vite-ignore */ asset(template, logicalId) + cacheBuster)) as { handler: Handler };
    return module.handler;
  };
  const invokeLambda = async (logicalId: string, payload: unknown) => {
    let handler = faults.get(logicalId) ?? handlers.get(logicalId);
    if (!handler) {
      handler = await importHandler(logicalId);
      handlers.set(logicalId, handler);
    }
    return handler(payload, lambdaContext({ functionName: logicalId }));
  };

  const machines = loadStateMachines({
    template,
    invokeLambda,
    sqsClient: sqs,
    queueUrls: { [queueLogicalId]: sagaFailuresQueueUrl! },
    retryIntervalOverrides: retryIntervalOverrides(options.retryIntervalMs ?? 1, options.retryIntervals),
  });
  const stepFunctions = new LocalStepFunctions(machines);
  const paymentSaga = machines.find((machine) => machine.logicalId.includes('PaymentSaga'))!;
  const refundSaga = machines.find((machine) => machine.logicalId.includes('RefundSaga'))!;

  const run = async (machine: LocalStateMachine, input: object, name: string) => {
    const { executionArn } = stepFunctions.startExecution({ stateMachineArn: machine.arn, name, input: JSON.stringify(input) });
    return stepFunctions.waitForExecution(executionArn, 20_000);
  };

  const functionOfState = (stateName: string): string => {
    for (const machine of machines) {
      const state = machine.definition.States[stateName] as { Parameters?: { FunctionName?: string } } | undefined;
      const arn = state?.Parameters?.FunctionName;
      if (arn) return arn.split(':')[6]!;
    }
    throw new Error(`No Lambda task state ${stateName}`);
  };

  const harness: SagaHarness = {
    tables,
    stepFunctions,
    paymentSaga,
    refundSaga,
    sagaFailuresQueueUrl: sagaFailuresQueueUrl!,
    runPaymentSaga: (paymentId, name = `payment-${paymentId}`) => run(paymentSaga, { paymentId }, name),
    runRefundSaga: (paymentId, refundId, name = `refund-${refundId}`) => run(refundSaga, { paymentId, refundId }, name),

    async injectFault(stateName, env) {
      const logicalId = functionOfState(stateName);
      const saved = Object.fromEntries(Object.keys(env).map((key) => [key, process.env[key]]));
      Object.assign(process.env, env);
      try {
        faults.set(logicalId, await importHandler(logicalId, `?fault=${randomUUID()}`));
      } finally {
        for (const [key, value] of Object.entries(saved)) {
          if (value === undefined) delete process.env[key];
          else process.env[key] = value;
        }
      }
      return () => faults.delete(logicalId);
    },

    failInvocations(stateName, errorName) {
      const logicalId = functionOfState(stateName);
      faults.set(logicalId, async () => {
        throw Object.assign(new Error(`${errorName} (injected before the function ran)`), { name: errorName });
      });
      return () => faults.delete(logicalId);
    },

    async seedPayment(input = {}) {
      const id = `pay_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
      const item = paymentItem(newPayment({
        id,
        merchantId: input.merchantId ?? 'merchant-a',
        amount: input.amount ?? 2500,
        currency: input.currency ?? 'USD',
        source: input.source ?? 'tok_success',
        requestHash: 'test',
        now: new Date(),
      }));
      if (input.status) {
        item.status = input.status;
        item.amountCaptured = input.amountCaptured ?? item.amount;
        item.amountRefundable = item.amountCaptured;
      }
      await db.send(new PutCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Item: item }));
      return item;
    },

    /** What the create-refund API does: the refund item plus the conditional reservation on the payment. */
    async seedRefund(payment, amount) {
      const id = `re_${randomUUID().replaceAll('-', '').slice(0, 24)}`;
      const item = refundItem(newRefund({ id, payment, amount, requestHash: 'test', now: new Date() }));
      await db.send(new PutCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Item: item }));
      const { Item } = await db.send(new GetCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Key: paymentKey(payment.id), ConsistentRead: true }));
      const current = Item as PaymentItem;
      if (current.amountRefundable < amount) throw new Error('seedRefund: not refundable');
      await db.send(
        new PutCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Item: { ...current, amountRefundable: current.amountRefundable - amount } }),
      );
      return item;
    },

    async payment(paymentId) {
      const { Item } = await db.send(new GetCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Key: paymentKey(paymentId), ConsistentRead: true }));
      return Item as PaymentItem;
    },

    async refund(paymentId, refundId) {
      const { Item } = await db.send(new GetCommand({ TableName: tables.PAYMENTS_TABLE_NAME, Key: refundKey(paymentId, refundId), ConsistentRead: true }));
      return Item as RefundItem;
    },

    async postings(paymentId) {
      const { Items } = await db.send(
        new QueryCommand({
          TableName: tables.PAYMENTS_TABLE_NAME,
          KeyConditionExpression: 'PK = :pk AND begins_with(SK, :posting)',
          ExpressionAttributeValues: { ':pk': `PAYMENT#${paymentId}`, ':posting': 'POSTING#' },
          ConsistentRead: true,
        }),
      );
      return (Items ?? []) as PostingItem[];
    },

    async processorRecords(reference) {
      const { Items } = await db.send(
        new ScanCommand({
          TableName: tables.PROCESSOR_TABLE_NAME,
          FilterExpression: '#reference = :reference',
          ExpressionAttributeNames: { '#reference': 'reference' },
          ExpressionAttributeValues: { ':reference': reference },
          ConsistentRead: true,
        }),
      );
      return (Items ?? []) as ProcessorRecord[];
    },

    async forgetProcessorRecords(reference) {
      for (const record of await harness.processorRecords(reference)) {
        await db.send(new DeleteCommand({ TableName: tables.PROCESSOR_TABLE_NAME, Key: { key: record.key } }));
      }
    },

    async drainSagaFailures() {
      const messages: Array<Record<string, any>> = [];
      for (;;) {
        const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: sagaFailuresQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
        if (!Messages?.length) return messages;
        for (const message of Messages) {
          messages.push(JSON.parse(message.Body!));
          await sqs.send(new DeleteMessageCommand({ QueueUrl: sagaFailuresQueueUrl, ReceiptHandle: message.ReceiptHandle! }));
        }
      }
    },

    assertInvariants: (paymentId) => assertPaymentInvariants(harness, paymentId),
  };
  return harness;
}

/** One pause for every state, or a lookup that answers `perState[name]` and the default for any other state. */
function retryIntervalOverrides(fallback: number, perState?: Record<string, number | number[]>): number | Record<string, number | number[]> {
  if (!perState) return fallback;
  return new Proxy(perState, { get: (target, name) => (typeof name === 'string' && name in target ? target[name] : fallback) });
}

/**
 * DESIGN §6 for one payment, checked against the processor's own records and the Payments table:
 * - no double charge: at most one authorization and one capture, and a failed payment kept no money
 *   (its capture, if any, was reversed by the void or refunded in full);
 * - a terminal status;
 * - every posting balanced; a succeeded payment has exactly one capture posting of its amount, a
 *   failed one none; the payment's balances sum to zero;
 * - refunds never exceed the capture, and the refundable amount is what is left after reservations.
 */
export async function assertPaymentInvariants(harness: SagaHarness, paymentId: string): Promise<void> {
  const [payment, records, postings] = await Promise.all([harness.payment(paymentId), harness.processorRecords(paymentId), harness.postings(paymentId)]);
  const authorizations = records.filter((record) => record.operation === 'authorize' && record.outcome === 'succeeded');
  const captures = records.filter((record) => record.operation === 'capture' && record.outcome === 'succeeded');
  expect(authorizations.length, 'authorizations').toBeLessThanOrEqual(1);
  expect(captures.length, 'captures').toBeLessThanOrEqual(1);

  expect(['succeeded', 'failed', 'partially_refunded', 'refunded'], 'terminal status').toContain(payment.status);
  expect(payment.openEntity, 'left the open-items index').toBeUndefined();

  for (const posting of postings) expect(isBalanced(posting.lines), `posting ${posting.SK} balanced`).toBe(true);
  expect(totalBalanceByCurrency(postings)[payment.currency] ?? 0, 'balances sum to zero').toBe(0);
  const capturePostings = postings.filter((posting) => posting.SK === 'POSTING#capture');

  if (payment.status === 'failed') {
    expect(payment.failureCode, 'failure code').toBeTruthy();
    expect(postings, 'no posting for a failed payment').toEqual([]);
    expect(payment.amountCaptured).toBe(0);
    if (captures.length === 1) {
      const reversed = records.some((record) => record.operation === 'void' && record.reversedCaptureId === captures[0]!.captureId);
      const refunded = records
        .filter((record) => record.operation === 'refund' && record.outcome === 'succeeded')
        .reduce((sum, record) => sum + (record.amount ?? 0), 0);
      expect(reversed || refunded === captures[0]!.amount, 'the failed payment kept no money').toBe(true);
    }
  } else {
    expect(captures.length, 'a successful payment was captured once').toBe(1);
    expect(capturePostings.length, 'exactly one capture posting').toBe(1);
    expect(capturePostings[0]!.lines.find((line) => line.account === 'processor_clearing')?.amount).toBe(payment.amount);
    expect(payment.amountCaptured).toBe(payment.amount);
  }

  const refunds = await refundsOf(harness, paymentId);
  const succeeded = refunds.filter((refund) => refund.status === 'succeeded').reduce((sum, refund) => sum + refund.amount, 0);
  const pending = refunds.filter((refund) => refund.status === 'pending').reduce((sum, refund) => sum + refund.amount, 0);
  expect(payment.amountRefunded, 'amountRefunded = succeeded refunds').toBe(succeeded);
  expect(succeeded, 'refunds never exceed the capture').toBeLessThanOrEqual(payment.amountCaptured);
  expect(payment.amountRefundable, 'refundable = captured - reserved').toBe(payment.amountCaptured - succeeded - pending);
  expect(postings.filter((posting) => posting.SK.startsWith('POSTING#refund#')).length, 'one posting per succeeded refund').toBe(
    refunds.filter((refund) => refund.status === 'succeeded').length,
  );
}

async function refundsOf(harness: SagaHarness, paymentId: string): Promise<RefundItem[]> {
  const db = documentClient();
  const { Items } = await db.send(
    new QueryCommand({
      TableName: harness.tables.PAYMENTS_TABLE_NAME,
      KeyConditionExpression: 'PK = :pk AND begins_with(SK, :refund)',
      ExpressionAttributeValues: { ':pk': `PAYMENT#${paymentId}`, ':refund': 'REFUND#' },
      ConsistentRead: true,
    }),
  );
  return (Items ?? []) as RefundItem[];
}

/** Names of the states an execution entered, in order. */
export const statesEntered = (execution: ExecutionRecord) =>
  execution.events.filter((event) => event.type === 'StateEntered').map((event) => event.stateName);
