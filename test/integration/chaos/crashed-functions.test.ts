/**
 * Issue 10 in the twin, with the runner's fault injection (outside the code under test): a function's execution
 * environment killed before or after its side effect — create-payment after its put, the relay after
 * SendMessageBatch, the starter after StartExecution, Authorize before the processor call, Capture after it,
 * PostLedger after its transaction, create-refund after its transaction, RefundAtProcessor after the processor
 * — and the flow still ends exactly once. And a stalled database delays payments instead of failing them: the
 * processor's table and the ledger transaction hold calls for 12 s, longer than the functions' 10 s timeout.
 */
import { rmSync } from 'node:fs';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { PAYFLOW_LOCAL } from '../../../bin/payflow-local.ts';
import { PaymentsClient, type Payment } from '../../../client/payments-client.ts';
import type { ProcessorRecord } from '../../../lambdas/adapters/simulated-processor.ts';
import type { FaultRule } from '../../../tools/local-runner/faults/plan.ts';
import { startLocalStack, type LocalStack } from '../../../tools/local-runner/runner.ts';
import { assemblyWithBreakerShut } from '../../support/breaker.ts';

let stack: LocalStack;
let client: PaymentsClient;
let ddb: DynamoDBDocumentClient;
let cdkOut: string;

const exactly = (name: string) => new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`);
/** The function whose logical id matches, as a caller pattern (its session is its function name). */
const fn = (logicalId: RegExp) => {
  const found = stack.lambdas.functions.find((candidate) => logicalId.test(candidate.logicalId));
  if (!found) throw new Error(`no function ${logicalId}`);
  return exactly(found.functionName);
};
const table = (output: 'PaymentsTableName' | 'ProcessorTableName') => exactly(stack.outputs[stack.stackName]![output]!);

async function scan<T>(output: 'PaymentsTableName' | 'ProcessorTableName'): Promise<T[]> {
  const items: T[] = [];
  for await (const page of paginateScan({ client: ddb }, { TableName: stack.outputs[stack.stackName]![output]!, ConsistentRead: true })) items.push(...((page.Items ?? []) as T[]));
  return items;
}

async function settled(id: string, statuses: string[]): Promise<Payment> {
  let last: Payment | undefined;
  await expect
    .poll(async () => (last = await client.getPayment(id)).status, { timeout: 200_000, interval: 250 })
    .toSatisfy((status: string) => statuses.includes(status));
  return last!;
}

/** One authorization and one capture per payment, one refund per refund, at the processor; one posting each in the ledger. */
async function exactlyOnce(paymentIds: string[], refundIds: string[]) {
  const records = (await scan<ProcessorRecord>('ProcessorTableName')).filter((record) => record.operation && record.outcome === 'succeeded');
  const items = await scan<{ SK: string; paymentId?: string; entity?: string }>('PaymentsTableName');
  for (const id of paymentIds) {
    expect(records.filter((record) => record.reference === id && record.operation === 'authorize'), id).toHaveLength(1);
    expect(records.filter((record) => record.reference === id && record.operation === 'capture'), id).toHaveLength(1);
    expect(items.filter((item) => item.entity === 'posting' && item.paymentId === id && item.SK === 'POSTING#capture'), id).toHaveLength(1);
  }
  for (const id of refundIds) {
    expect(records.filter((record) => record.reference === id && record.operation === 'refund'), id).toHaveLength(1);
    expect(items.filter((item) => item.entity === 'posting' && item.SK === `POSTING#refund#${id}`), id).toHaveLength(1);
  }
}

beforeAll(async () => {
  // Stalls and kills count as processor failures; the breaker's own behaviour is circuit-breaker.test.ts's.
  cdkOut = assemblyWithBreakerShut(inject('cdkOut'));
  stack = await startLocalStack({ ...PAYFLOW_LOCAL, cdkOut, port: 0, timeScale: 0.02, faults: { seed: 20261201, rules: [] } });
  client = new PaymentsClient({ baseUrl: stack.apiUrl, apiKey: stack.apiKeys[0]!.value, retry: { maxRetries: 10 } });
  ddb = DynamoDBDocumentClient.from(new DynamoDBClient({ region: stack.outputs[stack.stackName]!.LocalRegion!, endpoint: stack.endpoints.dynamodb, credentials: { accessKeyId: 'local', secretAccessKey: 'local' } }));
}, 120_000);

afterAll(async () => {
  ddb?.destroy();
  await stack?.stop();
  if (cdkOut) rmSync(cdkOut, { recursive: true, force: true });
});

// One scenario, all faults at once (a stack start and the waits they cause are shared): each rule fires its limit,
// on whichever payment's call comes first.
describe('functions killed before or after their side effect (the invocation retried by its caller), and a stalled database', () => {
  it('every payment and refund still ends exactly once, and no good card fails: calls held 12 s (past the 10 s function timeout) delay payments, they do not fail them', { timeout: 420_000 }, async () => {
    const once = { rate: 1, limit: 1 } as const;
    const stall = { kind: 'latency', rate: 1, delayMs: [12_000, 12_000], limit: 2 } as const;
    const rules: FaultRule[] = [
      { kind: 'kill-after', ...once, callers: fn(/^ApiCreatePayment/), operations: ['PutItem'], resources: table('PaymentsTableName') },
      { kind: 'kill-after', ...once, callers: fn(/^OutboxRelay/), operations: ['SendMessageBatch'] },
      { kind: 'kill-after', ...once, callers: fn(/^OutboxSagaStarter/), operations: ['StartExecution'] },
      { kind: 'kill-before', ...once, callers: fn(/^SagaAuthorize/), resources: table('ProcessorTableName') },
      { kind: 'kill-after', ...once, callers: fn(/^SagaCapture/), operations: ['PutItem', 'UpdateItem', 'TransactWriteItems'], resources: table('ProcessorTableName') },
      { kind: 'kill-after', ...once, callers: fn(/^SagaPostLedger/), operations: ['TransactWriteItems'] },
      // After the kills above (a call meets the first rule that fires), the next two calls of each are held 12 s.
      { ...stall, callers: fn(/^SagaAuthorize/), resources: table('ProcessorTableName') },
      { ...stall, callers: fn(/^SagaPostLedger/), operations: ['TransactWriteItems'] },
      // Only refunds make these calls.
      { kind: 'kill-after', ...once, callers: fn(/^ApiCreateRefund/), operations: ['TransactWriteItems'] },
      { kind: 'kill-after', ...once, callers: fn(/^SagaRefundAtProcessor/), operations: ['PutItem', 'UpdateItem', 'TransactWriteItems'], resources: table('ProcessorTableName') },
    ];
    stack.faults!.setRules(rules);
    const fired = () => rules.map((_, index) => stack.faults!.firedCount(index));
    const sources = ['tok_success', 'tok_success', 'tok_flaky', 'tok_success', 'tok_timeout'];
    const payments = await Promise.all(sources.map((source, n) => client.createPayment({ amount: 1_000 + n, currency: n < 3 ? 'EUR' : 'USD', source })));
    for (const payment of payments) expect((await settled(payment.id, ['succeeded', 'failed'])).status).toBe('succeeded');
    expect(fired().slice(0, 8)).toEqual([1, 1, 1, 1, 1, 1, 2, 2]);

    const refunded = payments.slice(0, 3);
    const refunds = await Promise.all(refunded.map((payment) => client.createRefund(payment.id, { amount: 400 })));
    const refundStatuses = async () => {
      const items = await scan<{ entity?: string; id?: string; status?: string }>('PaymentsTableName');
      return refunds.map((refund) => items.find((item) => item.entity === 'refund' && item.id === refund.id)?.status);
    };
    await expect.poll(refundStatuses, { timeout: 200_000, interval: 500 }).toEqual(refunds.map(() => 'succeeded'));
    for (const payment of refunded) expect(await settled(payment.id, ['partially_refunded'])).toMatchObject({ amountRefunded: 400 });
    expect(fired()).toEqual([1, 1, 1, 1, 1, 1, 2, 2, 1, 1]);
    expect(stack.faults!.injected.filter((fault) => fault.kind.startsWith('kill'))).toHaveLength(8);
    await exactlyOnce(payments.map((payment) => payment.id), refunds.map((refund) => refund.id));
  });
});
