// One request id end to end (issue 12): the id API Gateway gives a POST (x-amzn-RequestId) is on the payment
// and refund it created, in their saga inputs, in the GET views (a replay keeps the first one's), and on the log
// lines of every function that handled them — read from the twin's function log with the same code as
// `npm run history`.
import { readFileSync } from 'node:fs';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, describe, expect, it } from 'vitest';
import { consoleClients, consoleStack } from '../../tools/console/stack.ts';
import { API_REQUEST_ID_KEY, paymentHistory, shortSource } from '../../tools/history/history.ts';
import { call, eventually, merchant, newKey, output, paymentReaching, stack } from './target.ts';

const merchantA = merchant('MerchantA');
const clients = consoleClients(consoleStack('Payflow', stack().outputs), stack().outputs);
afterAll(() => clients.destroy());

const item = async (PK: string, SK: string) =>
  (await clients.dynamodb.send(new GetCommand({ TableName: output('PaymentsTableName'), Key: { PK, SK }, ConsistentRead: true }))).Item;
const sagaInput = async (stateMachineOutput: string, name: string) => {
  const executionArn = `${output(stateMachineOutput).replace(':stateMachine:', ':execution:')}:${name}`;
  return JSON.parse((await clients.sfn.send(new DescribeExecutionCommand({ executionArn }))).input ?? '{}') as Record<string, unknown>;
};

/** The functions that handle a payment and then its refund, each of which must log the creating request's id. */
const PAYMENT_FUNCTIONS = ['ApiCreatePaymentFunction', 'OutboxRelay', 'OutboxSagaStarter', 'SagaAuthorizeFunction', 'SagaCaptureFunction', 'SagaPostLedgerFunction'];
const REFUND_FUNCTIONS = ['ApiCreateRefundFunction', 'OutboxRelay', 'OutboxSagaStarter', 'SagaRefundAtProcessorFunction', 'SagaPostRefundLedgerFunction'];

describe('one request id end to end', () => {
  let paymentId: string;
  let paymentRequestId: string;
  let refundId: string;
  let refundRequestId: string;

  it('the POST’s x-amzn-RequestId is the payment’s requestId (item, views, a replay keeps it) and its saga’s input; the same for a refund', async () => {
    const key = newKey('request-id');
    const body = { amount: 3100, currency: 'EUR', source: 'tok_success' };
    const created = await call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: key, body });
    expect(created.status).toBe(201);
    paymentRequestId = created.headers.get('x-amzn-requestid')!;
    paymentId = created.json.id;
    expect(paymentRequestId).toBeTruthy();
    expect(created.json.requestId).toBe(paymentRequestId);

    const replay = await call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: key, body });
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.headers.get('x-amzn-requestid')).not.toBe(paymentRequestId);
    expect(replay.json.requestId).toBe(paymentRequestId);

    expect(await paymentReaching(merchantA, paymentId, ['succeeded'])).toMatchObject({ requestId: paymentRequestId });
    expect(await item(`PAYMENT#${paymentId}`, 'PAYMENT')).toMatchObject({ requestId: paymentRequestId });
    expect(await sagaInput('PaymentSagaArn', `payment-${paymentId}`)).toEqual({ paymentId, requestId: paymentRequestId });

    const refund = await call('POST', `payments/${paymentId}/refunds`, { apiKey: merchantA.apiKey, idempotencyKey: newKey('request-id-refund'), body: { amount: 1000 } });
    expect(refund.status).toBe(201);
    refundId = refund.json.id;
    refundRequestId = refund.headers.get('x-amzn-requestid')!;
    expect(refund.json.requestId).toBe(refundRequestId);
    expect(refundRequestId).not.toBe(paymentRequestId);
    await paymentReaching(merchantA, paymentId, ['partially_refunded']);
    expect(await item(`PAYMENT#${paymentId}`, `REFUND#${refundId}`)).toMatchObject({ requestId: refundRequestId, status: 'succeeded' });
    expect(await sagaInput('RefundSagaArn', `refund-${refundId}`)).toEqual({ paymentId, refundId, requestId: refundRequestId });
    // The payment keeps its own request id through the refund.
    expect(await item(`PAYMENT#${paymentId}`, 'PAYMENT')).toMatchObject({ requestId: paymentRequestId, status: 'partially_refunded' });
  });

  // The twin's function log is a file; a deployed stack's logs are in CloudWatch (README: "One request id").
  it.runIf(stack().functionLogFile !== undefined)('every function that handled them logged the creating request id under api_request_id, and no other payment’s lines carry it', async () => {
    expect(paymentId, 'the test above created the payment').toBeTruthy();
    const logFile = stack().functionLogFile!;
    const history = await eventually('every function’s line in the twin’s log', 15_000, async () => {
      const found = paymentHistory(readFileSync(logFile, 'utf8').split('\n'), paymentRequestId);
      const logged = (requestId: string) => new Set(found.entries.filter((entry) => entry.record?.[API_REQUEST_ID_KEY] === requestId).map((entry) => shortSource(entry.source)));
      const complete = PAYMENT_FUNCTIONS.every((fn) => logged(paymentRequestId).has(fn)) && REFUND_FUNCTIONS.every((fn) => logged(refundRequestId).has(fn));
      return complete ? found : undefined;
    });
    expect(history.paymentIds).toEqual([paymentId]);
    expect(new Set(history.requestIds)).toEqual(new Set([paymentRequestId, refundRequestId]));
    // The POSTs' access-log lines are in the history too.
    expect(history.entries.some((entry) => entry.source === 'runner' && entry.text.startsWith('POST /v1/payments ') && entry.text.endsWith(paymentRequestId))).toBe(true);

    const lines = readFileSync(logFile, 'utf8').split('\n');
    const records = paymentHistory(lines, paymentId).entries.filter((entry) => entry.record && shortSource(entry.source) !== 'ApiGetPaymentFunction');
    // Every function line about the payment carries the request id of what it handled: the payment's or its refund's.
    for (const entry of records) {
      const expected = entry.record!.refundId === refundId ? refundRequestId : paymentRequestId;
      expect(entry.record![API_REQUEST_ID_KEY], `${entry.source}: ${entry.text}`).toBe(expected);
    }
    // Warm functions drop the keys after each payment: no line about another payment carries this request id.
    const leaked = lines.filter((line) => line.includes(paymentRequestId) && line.includes('"paymentId"') && !line.includes(paymentId));
    expect(leaked).toEqual([]);
  });
});
