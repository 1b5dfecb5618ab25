// The console's one action, in a real browser (headless Chromium) against the stack under test: started with
// --allow-actions, it redrives a dead-lettered event from the page; the message leaves the DLQ and its payment
// moves from pending to succeeded; redriving it again (or delivering the event once more) changes nothing.
import { randomBytes, randomUUID } from 'node:crypto';
import { ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consoleClients, consoleStack, type ConsoleClients } from '../../tools/console/stack.ts';
import { eventually, merchant, output, paymentReaching, stack } from '../acceptance/target.ts';
import { openConsole, type ConsoleSession } from './browser.ts';

describe('the console with --allow-actions redrives a dead-lettered event', () => {
  let session: ConsoleSession;
  let clients: ConsoleClients;
  beforeAll(async () => {
    session = await openConsole(stack().outputs, { allowActions: true });
    clients = consoleClients(consoleStack('Payflow', stack().outputs), stack().outputs);
  });
  afterAll(async () => {
    await session?.close();
    clients?.destroy();
  });

  it('a payment.created event in the events DLQ: redriven from the page, it leaves the DLQ and the payment succeeds; a second redrive changes nothing', async () => {
    const merchantA = merchant('MerchantA');
    const { page } = session;
    // A payment whose event the saga starter failed to handle until the queue's redrive policy moved it to the
    // DLQ — the fault is made outside the code: the payment is written without an event (put as another entity,
    // then a change of entity that leaves its status as it was: the relay publishes neither), and its
    // payment.created event is put in the events DLQ, in the relay's shape, where the redrive policy would have.
    const paymentId = `pay_${randomBytes(12).toString('hex')}`;
    const requestId = randomUUID();
    const now = new Date().toISOString();
    const payment = {
      id: paymentId, merchantId: merchantA.id, amount: 4321, currency: 'EUR', status: 'pending', source: 'tok_success', description: 'console redrive',
      amountCaptured: 0, amountRefunded: 0, amountRefundable: 0, requestHash: randomBytes(32).toString('hex'), requestId, createdAt: now, updatedAt: now,
    };
    const table = output('PaymentsTableName');
    const key = { PK: `PAYMENT#${paymentId}`, SK: 'PAYMENT' };
    await clients.dynamodb.send(new PutCommand({ TableName: table, Item: { ...key, entity: 'seeded', openEntity: 'payment', ...payment } }));
    await clients.dynamodb.send(new UpdateCommand({ TableName: table, Key: key, UpdateExpression: 'SET entity = :payment', ExpressionAttributeValues: { ':payment': 'payment' } }));
    const { requestHash: _hash, ...data } = payment;
    const event = { type: 'payment.created', version: 1, id: randomUUID(), paymentId, occurredAt: now, requestId, data };
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: output('EventsDlqUrl'), MessageBody: JSON.stringify(event), MessageGroupId: paymentId, MessageDeduplicationId: event.id }));

    await page.goto(`${session.console.url}#/queues`);
    const dead = page.locator('[data-queue="EventsDlq"] li', { hasText: paymentId });
    const redriveButton = dead.getByRole('button', { name: 'Redrive to its source queue' });
    await redriveButton.waitFor({ timeout: 30_000 });
    const [reason, messageId] = await dead.evaluate((item) => [item.querySelector('.reason')?.textContent ?? '', item.getAttribute('data-message-id') ?? '']);
    expect(reason).toMatch(/redrive policy of EventsQueue after \d+ receives/);
    // Nothing else moves it: it is still pending while its event is dead.
    expect((await merchantA.client.getPayment(paymentId)).status).toBe('pending');

    await redriveButton.click({ timeout: 30_000 });
    await page.locator(`[data-queue="EventsDlq"] li[data-message-id="${messageId}"]`).waitFor({ state: 'detached', timeout: 30_000 });
    const succeeded = await paymentReaching(merchantA, paymentId, ['succeeded']);
    expect(succeeded).toMatchObject({ amountCaptured: 4321, requestId });

    // The page shows it: the list, then its journey with the request id of the (seeded) request.
    await page.goto(`${session.console.url}#/payments`);
    await page.locator(`tr[data-payment-id="${paymentId}"][data-status="succeeded"]`).waitFor({ timeout: 15_000 });
    await page.goto(`${session.console.url}#/payments/${paymentId}`);
    await page.locator('#timeline li[data-kind="status"]').waitFor({ timeout: 15_000 });
    await expect(page.locator('#timeline li[data-kind="request"] .request-id').first().textContent()).resolves.toBe(requestId);

    // Redriving it again: the message is no longer in the DLQ, and the console says so.
    // (Sent as the page sends it, but from the test: the browser would log the refusal as a page error.)
    const again = await fetch(new URL('api/dead-letters/redrive', session.console.url), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', 'X-Payflow-Console': '1' },
      body: JSON.stringify({ queue: 'EventsDlq', messageId }),
    });
    expect(again.status).toBeGreaterThanOrEqual(400);
    expect(((await again.json()) as { error?: string }).error).toMatch(/not \(or no longer\) in EventsDlq/);
    // And the same event delivered once more (a redrive that raced another one) is a duplicate start: nothing moves.
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: output('EventsQueueUrl'), MessageBody: JSON.stringify(event), MessageGroupId: paymentId, MessageDeduplicationId: `redrive-again-${messageId}` }));
    type Queues = { queues: Array<{ label: string; visible: number; inFlight: number }> };
    await eventually('the events queue drained', 30_000, async () => {
      const { queues } = (await (await fetch(new URL('api/queues', session.console.url))).json()) as Queues;
      const eventsQueue = queues.find((queue) => queue.label === 'EventsQueue')!;
      return eventsQueue.visible + eventsQueue.inFlight === 0 ? true : undefined;
    });
    const { executions = [] } = await clients.sfn.send(new ListExecutionsCommand({ stateMachineArn: output('PaymentSagaArn'), maxResults: 1000 }));
    expect(executions.filter((execution) => execution.name === `payment-${paymentId}`)).toHaveLength(1);
    const journey = (await (await fetch(new URL(`api/payments/${paymentId}`, session.console.url))).json()) as { processorCalls: Array<{ operation: string }>; postings: unknown[] };
    expect(journey.processorCalls.map((call) => call.operation).sort()).toEqual(['authorize', 'capture']);
    expect(journey.postings).toHaveLength(1);
    expect((await merchantA.client.getPayment(paymentId)).status).toBe('succeeded');
    expect(session.pageErrors).toEqual([]);
  });
});
