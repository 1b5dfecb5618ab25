// One request id end to end, in the log lines: the use cases and the saga tasks write the creating API request's
// id under `api_request_id` (not Powertools' function_request_id) on every line about the item, and drop it after.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { API_REQUEST_ID_KEY, sagaTaskHandler } from '#commons/correlation';
import { logger } from '#commons/powertools';
import { reconcile } from '#application/reconcile';
import { startSagaForEvent } from '#application/start-saga';
import type { SagaStart } from '#domain/saga-starts';
import type { OpenItems, PaymentScan } from '#ports/payments-store';

let lines: Array<Record<string, unknown>>;
beforeEach(() => {
  lines = [];
  logger.setLogLevel('INFO');
  // Powertools writes INFO to stdout, WARN and ERROR to stderr.
  for (const stream of [process.stdout, process.stderr]) {
    vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
      for (const line of String(chunk).split('\n').filter((text) => text.startsWith('{'))) lines.push(JSON.parse(line) as Record<string, unknown>);
      return true;
    });
  }
});
afterEach(() => {
  vi.restoreAllMocks();
  logger.setLogLevel('SILENT');
});
const line = (message: string) => lines.find((entry) => entry.message === message);

describe('api_request_id on the log lines of the functions that handle a payment', () => {
  it('a saga task logs the state’s request id with its payment id, and a warm function drops both before the next payment', async () => {
    const step = sagaTaskHandler('Test', async (state: { paymentId: string; requestId?: string }) => {
      logger.info('step ran');
      return state;
    });
    await step({ paymentId: 'pay_1', requestId: 'req-1' });
    await step({ paymentId: 'pay_2' });
    const [first, second] = lines.filter((entry) => entry.message === 'step ran');
    expect(first).toMatchObject({ paymentId: 'pay_1', [API_REQUEST_ID_KEY]: 'req-1' });
    expect(first).not.toHaveProperty('function_request_id', 'req-1');
    expect(second).toMatchObject({ paymentId: 'pay_2' });
    expect(second).not.toHaveProperty(API_REQUEST_ID_KEY);
  });

  it('the saga starter logs the event’s request id and passes it in the saga input', async () => {
    const starts: SagaStart[] = [];
    const start = startSagaForEvent({ start: async (s) => (starts.push(s), { executionArn: 'arn:x', alreadyExisted: false }), status: async () => undefined });
    await start(JSON.stringify({ type: 'payment.created', version: 1, id: 'evt-1', paymentId: 'pay_1', occurredAt: '2026-12-01T00:00:00.000Z', requestId: 'req-1', data: {} }));
    expect(starts[0]!.input).toEqual({ paymentId: 'pay_1', requestId: 'req-1' });
    expect(line('Saga started')).toMatchObject({ paymentId: 'pay_1', [API_REQUEST_ID_KEY]: 'req-1' });
  });

  it('reconciliation restarts a stuck payment with its request id in the input and on its lines, not on the run’s summary', async () => {
    const starts: SagaStart[] = [];
    const openItems: OpenItems = {
      openItemRefs: async () => ({ refs: [] }),
      oldestOpenCreatedAt: async () => undefined,
      readOpenItem: async () => ({ entity: 'payment', id: 'pay_1', merchantId: 'm', amount: 1, currency: 'EUR', status: 'pending', source: 'tok_success', amountCaptured: 0, amountRefunded: 0, amountRefundable: 0, requestHash: 'h', requestId: 'req-1', createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z', reconcileRestarts: 0 }),
      countRestart: async () => true,
      handToOperator: async () => true,
    };
    // The stuck payment is found through its merchant's payments (the scan), then read as an open item.
    const payments: PaymentScan = {
      paymentScanCursors: async () => [],
      positionAt: (createdAt) => createdAt,
      merchantPayments: async () => ({ payments: [{ paymentId: 'pay_1', createdAt: '2026-12-01T00:00:00.000Z', position: '2026-12-01T00:00:00.000Z#pay_1' }] }),
      scannedPaymentStates: async () => new Map([['pay_1', { status: 'pending', handedOver: false, inOpenItems: false }]]),
      savePaymentScanCursor: async () => true,
    };
    const run = reconcile({
      openItems,
      payments,
      merchantIds: ['m'],
      starter: { start: async (s) => (starts.push(s), { executionArn: 'arn:x', alreadyExisted: false }), status: async () => undefined },
      operatorQueue: { send: async () => new Map(), sendInGroupOrder: async () => new Map() },
      operatorQueueIsFifo: true,
      stuckAfterSeconds: 900,
      pageSize: 10,
      maxRestarts: 3,
    });
    await run();
    expect(starts[0]!.input).toEqual({ paymentId: 'pay_1', requestId: 'req-1' });
    expect(line('Started the saga of a stuck item')).toMatchObject({ paymentId: 'pay_1', [API_REQUEST_ID_KEY]: 'req-1' });
    expect(line('Reconciliation run')).not.toHaveProperty(API_REQUEST_ID_KEY);
  });
});
