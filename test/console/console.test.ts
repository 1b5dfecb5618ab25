// The console in a real browser (headless Chromium from Debian, driven by playwright-core) against the
// stack the acceptance global setup gives (the twin by default): payments with several tokens and a
// refund appear and reach their terminal states, one payment's journey lists its steps in order with
// its saga drawn, a message dead-lettered on purpose is listed with its reason, and the page is usable
// from the keyboard and shows no secret. The refunded payment's merchant has two webhook endpoints (a receiver
// on 127.0.0.1 that answers 200, and one that always answers 503, given up after the twin's 12-s retry window):
// its journey shows each delivery's outcome. The health view shows the newest daily reconciliation report
// (a run invoked on a day with a capture the ledger lacks) and a refund stuck beyond its alarm age.
// UPDATE_SCREENSHOT=1 rewrites docs/console-journey.png.
import { randomBytes, randomUUID } from 'node:crypto';
import { InvokeCommand } from '@aws-sdk/client-lambda';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { DeleteCommand, PutCommand, ScanCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Payment } from '../../client/payments-client.ts';
import { consoleClients, consoleStack, type ConsoleClients } from '../../tools/console/stack.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../../tools/webhooks/receiver.ts';
import { eventually, merchant, newKey, output, paymentReaching, sqsClient, stack } from '../acceptance/target.ts';
import { openConsole, type ConsoleSession } from './browser.ts';

const TERMINAL: Record<string, string> = { tok_success: 'partially_refunded', tok_flaky: 'succeeded', tok_decline: 'failed', tok_capture_fail: 'failed', tok_insufficient_funds: 'failed' };

describe('the console (headless Chromium, against the stack under test)', () => {
  let session: ConsoleSession;
  let receiver: WebhookReceiver;
  let clients: ConsoleClients;
  const payments: Record<string, Payment> = {};
  /** The refunded payment's merchant, with the webhook endpoints: no other test of the console suite uses it. */
  const owner = () => merchant('MerchantB');
  const urlToken = randomBytes(12).toString('hex');
  const endpoints: Array<{ id: string; secret: string }> = [];

  beforeAll(async () => {
    receiver = await startWebhookReceiver({ respond: ({ path }) => (path.startsWith('/never') ? 503 : 200) });
    clients = consoleClients(consoleStack('Payflow', stack().outputs), stack().outputs);
    // The query string stands for a token a merchant put in its URL: the console never shows it.
    for (const path of [`/ok?token=${urlToken}`, '/never']) endpoints.push(await owner().client.createWebhookEndpoint({ url: `${receiver.url}${path}`, enabled_events: ['*'] }));
    const merchantA = merchant('MerchantA');
    await Promise.all(
      Object.keys(TERMINAL).map(async (token) => {
        const who = token === 'tok_success' ? owner() : merchantA;
        payments[token] = await who.client.createPayment({ amount: 4200, currency: 'EUR', source: token, description: `console ${token}` }, { idempotencyKey: newKey('console') });
      }),
    );
    session = await openConsole(stack().outputs);
  });
  afterAll(async () => {
    await session?.close();
    for (const endpoint of endpoints) await owner().client.deleteWebhookEndpoint(endpoint.id).catch(() => undefined);
    await receiver?.close();
    clients?.destroy();
  });

  it('lists every payment newest first and shows each reach its terminal state (a refund included)', async () => {
    const { page } = session;
    for (const payment of Object.values(payments)) await page.locator(`tr[data-payment-id="${payment.id}"]`).waitFor({ timeout: 15_000 });
    await paymentReaching(owner(), payments.tok_success!.id, ['succeeded']);
    await owner().client.createRefund(payments.tok_success!.id, { amount: 1000 }, { idempotencyKey: newKey('console-refund') });
    for (const [token, payment] of Object.entries(payments)) {
      await page.locator(`tr[data-payment-id="${payment.id}"][data-status="${TERMINAL[token]}"]`).waitFor({ timeout: stack().deadlines.terminalMs });
      // Readable without colour: the status is written out, with a symbol.
      await expect(page.locator(`tr[data-payment-id="${payment.id}"] .status`).textContent()).resolves.toMatch(/^(✓|✗|◐|↩) /);
    }
    const ids = await page.locator('#payments tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-payment-id')));
    const created = ids.filter((id): id is string => Object.values(payments).some((payment) => payment.id === id));
    const byTime = Object.values(payments).sort((a, b) => b.createdAt.localeCompare(a.createdAt) || a.id.localeCompare(b.id)).map((payment) => payment.id);
    expect(created).toEqual(byTime);
  });

  it('filters by token and status', async () => {
    const { page } = session;
    await page.goto(`${session.console.url}#/payments`);
    await page.selectOption('#filter-token', 'tok_decline');
    await page.locator(`tr[data-payment-id="${payments.tok_decline!.id}"]`).waitFor();
    const sources = await page.locator('#payments tbody tr td:nth-child(5)').allTextContents();
    expect(new Set(sources)).toEqual(new Set(['tok_decline']));
    await page.selectOption('#filter-token', '');
    await page.selectOption('#filter-status', 'failed');
    await page.locator(`tr[data-payment-id="${payments.tok_capture_fail!.id}"]`).waitFor();
    const statuses = await page.locator('#payments tbody tr').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-status')));
    expect(new Set(statuses)).toEqual(new Set(['failed']));
    await page.selectOption('#filter-status', '');
  });

  it("opens a payment's journey: request, outbox, queue, saga states, processor calls, ledger, refund, in order", async () => {
    const { page } = session;
    const id = payments.tok_success!.id;
    await page.goto(`${session.console.url}#/payments/${id}`);
    await page.locator('#timeline li[data-kind="refund"]').waitFor({ timeout: stack().deadlines.terminalMs });
    const steps = await page.locator('#timeline li').evaluateAll((items) => items.map((item) => `${item.getAttribute('data-kind')}: ${item.querySelector('.title')?.textContent}`));
    const find = (pattern: RegExp) => {
      const index = steps.findIndex((step) => pattern.test(step));
      expect(index, `${pattern} in\n${steps.join('\n')}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const order = [
      find(/^request: API request: POST \/v1\/payments /),
      find(/^outbox: Outbox record: INSERT payment/),
      find(/^queue: Queue message: payment\.created/),
      find(/^saga: Saga started: payment-/),
      find(/^state: State Authorize/),
      find(/^processor: Processor call: authorize → succeeded/),
      find(/^state: State Capture/),
      find(/^processor: Processor call: capture → succeeded/),
      find(/^state: State PostLedger/),
      find(/^ledger: Ledger posting: capture/),
      find(/^status: Payment succeeded/),
      find(/^request: API request: POST \/v1\/payments\/.*\/refunds/),
      find(/^saga: Saga started: refund-/),
      find(/^processor: Processor call: refund → succeeded/),
      find(/^ledger: Ledger posting: refund/),
      find(/^refund: Refund .* succeeded/),
    ];
    expect([...order].sort((a, b) => a - b), steps.join('\n')).toEqual(order);

    // The saga drawn as its state graph, with the path taken in bold and numbered.
    const visited = await page.locator(`[data-execution="payment-${id}"] svg g.node.visited`).evaluateAll((nodes) => nodes.map((node) => node.getAttribute('data-state')));
    expect(visited).toEqual(expect.arrayContaining(['Authorize', 'Capture', 'PostLedger']));
    expect(await page.locator(`[data-execution="payment-${id}"] svg g.node[data-state="VoidAuthorization"]`).getAttribute('class')).not.toMatch(/visited/);
    // Ledger postings as debits and credits, balanced.
    await expect(page.locator('#ledger').textContent()).resolves.toMatch(/42\.00 EUR[\s\S]*42\.00 EUR[\s\S]*balanced/);

    // Webhook deliveries, in time order with the other steps: every event of the payment and its refund reached the
    // receiver's 200 endpoint; the 503 endpoint's first delivery was given up after its retry window (its attempts,
    // last status, no next retry), and the endpoint disabled. Waits until no delivery is queued any more.
    // No payment.processing: the saga no longer writes that status (README "Payment statuses").
    const eventTypes = ['payment.created', 'payment.succeeded', 'refund.created', 'refund.succeeded', 'payment.partially_refunded'];
    await page.locator('#timeline li[data-kind="webhook"]', { hasText: 'given up after' }).first().waitFor({ timeout: 60_000 });
    const webhookSteps = await eventually('every webhook delivery settled', 30_000, async () => {
      const titles = await page.locator('#timeline li[data-kind="webhook"] .title').allTextContents();
      const delivered = eventTypes.every((type) => titles.some((title) => title.startsWith(`Webhook ${type} → ${receiver.url}/ok?…: ✓ delivered`)));
      return delivered && !titles.some((title) => title.includes('in progress')) ? titles : undefined;
    });
    const settled = await page.locator('#timeline li').evaluateAll((items) => items.map((item) => `${item.getAttribute('data-kind')}: ${item.querySelector('.title')?.textContent}`));
    const at = (pattern: RegExp) => {
      const index = settled.findIndex((step) => pattern.test(step));
      expect(index, `${pattern} in\n${settled.join('\n')}`).toBeGreaterThanOrEqual(0);
      return index;
    };
    const never = `${receiver.url}/never`;
    // Each event is drawn with its change (the outbox record and queue message of the same write, same time); the
    // saga's states are not compared with them: an item's times and the execution history's may disagree by some
    // milliseconds (the reader draws only processor calls and postings not before their state: notBeforeItsState).
    const webhookOrder = [
      at(/^queue: Queue message: payment\.created/),
      at(/^webhook: Webhook payment\.created → .*\/ok\?…: ✓ delivered/),
      at(/^queue: Queue message: payment\.succeeded/),
      at(/^webhook: Webhook payment\.succeeded → .*\/ok\?…: ✓ delivered/),
      at(/^request: API request: POST \/v1\/payments\/.*\/refunds/),
      at(/^queue: Queue message: refund\.created/),
      at(/^webhook: Webhook refund\.created → .*\/ok\?…: ✓ delivered/),
      at(/^queue: Queue message: refund\.succeeded/),
      at(/^webhook: Webhook refund\.succeeded → .*\/ok\?…: ✓ delivered/),
    ];
    expect([...webhookOrder].sort((a, b) => a - b), settled.join('\n')).toEqual(webhookOrder);
    expect(webhookSteps.filter((title) => title.includes('/ok?…'))).toHaveLength(eventTypes.length);
    // What the page calls delivered, the receiver got (and answered 200); the given-up one it only ever answered 503.
    const shown = await (await fetch(new URL(`api/payments/${id}`, session.console.url))).text();
    const journey = JSON.parse(shown) as { webhooks: { deliveries: Array<{ eventId: string; eventType: string; url: string; state: string; attempts?: number; lastStatus?: number }> } };
    for (const delivery of journey.webhooks.deliveries.filter((entry) => entry.state === 'delivered')) {
      expect(receiver.deliveries.some((received) => received.eventId === delivery.eventId && received.path.startsWith('/ok') && received.status === 200), delivery.eventType).toBe(true);
    }
    // The first of the 503 endpoint's deliveries to reach the end of its window was given up (the others were dropped
    // once the endpoint was disabled): drawn at its event, and again when it was given up, later.
    const deadOne = journey.webhooks.deliveries.find((entry) => entry.state === 'given_up')!;
    expect(deadOne).toMatchObject({ eventType: expect.stringMatching(/^payment\./), url: never, lastStatus: 503 });
    expect(deadOne.attempts).toBeGreaterThan(1);
    // Each attempt is one POST (a redelivered message may POST once more).
    expect(receiver.deliveries.filter((received) => received.eventId === deadOne.eventId && received.path === '/never').length).toBeGreaterThanOrEqual(deadOne.attempts!);
    const type = deadOne.eventType.replace('.', '\\.');
    const scheduled = at(new RegExp(`^webhook: Webhook ${type} → ${never}: ✗ given up`));
    const gaveUp = at(new RegExp(`^webhook: Webhook ${type} → ${never}: given up after ${deadOne.attempts} attempt\\(s\\), last HTTP 503`));
    expect(gaveUp).toBeGreaterThan(scheduled);
    await expect(page.locator('#webhook-deliveries [data-delivery-state="given_up"]').count()).resolves.toBeGreaterThanOrEqual(1);
    // Never a signing secret nor the URL's token, neither on the page nor in what the server sends it.
    const pageText = (await page.locator('body').textContent()) ?? '';
    for (const secret of endpoints.map((endpoint) => endpoint.secret)) {
      expect(shown).not.toContain(secret);
      expect(pageText).not.toContain(secret);
    }
    expect(shown).not.toContain(urlToken);
    expect(pageText).not.toContain(urlToken);
    if (process.env.UPDATE_SCREENSHOT === '1') {
      await page.setViewportSize({ width: 1280, height: 860 });
      await page.screenshot({ path: 'docs/console-journey.png', fullPage: false });
      await page.setViewportSize({ width: 1280, height: 900 });
    }
  });

  it('highlights retries (tok_flaky) and the compensation path with its error (tok_capture_fail)', async () => {
    const { page } = session;
    await page.goto(`${session.console.url}#/payments/${payments.tok_flaky!.id}`);
    await page.locator('#timeline li[data-kind="status"]').waitFor({ timeout: 30_000 });
    await expect(page.locator('#timeline li.flag-retry .title').first().textContent()).resolves.toMatch(/retried \d+×/);
    await expect(page.locator('svg g.node.retried').count()).resolves.toBeGreaterThan(0);

    await page.goto(`${session.console.url}#/payments/${payments.tok_capture_fail!.id}`);
    await page.locator('#timeline li[data-kind="status"]').waitFor({ timeout: 30_000 });
    const path = await page.locator(`[data-execution="payment-${payments.tok_capture_fail!.id}"] ol.path li`).evaluateAll((items) => items.map((item) => item.getAttribute('data-state')));
    expect(path).toEqual(expect.arrayContaining(['Authorize', 'Capture', 'VoidAuthorization', 'MarkFailed']));
    await expect(page.locator('svg g.node.failed[data-state="Capture"]').count()).resolves.toBe(1);
    await expect(page.locator('#timeline li.flag-error').first().textContent()).resolves.toMatch(/✗/);
  });

  it('lists a message dead-lettered on purpose with why it failed, and the alarm that would fire', async () => {
    const { page } = session;
    const marker = randomUUID();
    const sqs = sqsClient();
    try {
      await sqs.send(new SendMessageCommand({ QueueUrl: output('EventsQueueUrl'), MessageBody: `not a payment event ${marker}`, MessageGroupId: `console-${marker}`, MessageDeduplicationId: marker }));
    } finally {
      sqs.destroy();
    }
    await page.goto(`${session.console.url}#/queues`);
    const item = page.locator('[data-queue="EventsDlq"] li', { hasText: marker });
    await item.waitFor({ timeout: stack().deadlines.dlqMs });
    await expect(item.locator('.reason').textContent()).resolves.toMatch(/redrive policy of .*after \d+ receives: its consumer failed every time \(its body is not JSON\)/);

    await page.keyboard.press('3');
    await page.locator('#alarm-table').waitFor();
    await expect(page.locator('#alarm-table tr', { hasText: 'EventsDlq depth > 0' }).textContent()).resolves.toMatch(/FIRING/);
  });

  it('health: the newest daily reconciliation report with its mismatches, and a refund stuck beyond its alarm age', async () => {
    const { page } = session;
    const reportsTable = output('DailyReportsTableName');
    const { Count: reportsBefore = 0 } = await clients.dynamodb.send(new ScanCommand({ TableName: reportsTable, FilterExpression: '#item = :report', ExpressionAttributeNames: { '#item': 'item' }, ExpressionAttributeValues: { ':report': 'REPORT' } }));
    await page.goto(`${session.console.url}#/health`);
    await page.locator('#alarm-table').waitFor();
    if (reportsBefore === 0) await page.locator('#daily-report-none').waitFor();
    await expect(page.locator('#alarm-table tr', { hasText: 'OldestOpenRefundAge' }).textContent()).resolves.toMatch(/✓ OK/);

    // A day whose processor captured a payment the ledger never posted (written to the simulated processor's table,
    // outside the code under test), then the daily reconciliation run of that day, invoked as an operator would.
    const day = new Date(Date.now() - 86_400_000).toISOString().slice(0, 10);
    const lostPayment = `pay_${randomBytes(12).toString('hex')}`;
    await clients.dynamodb.send(new PutCommand({
      TableName: output('ProcessorTableName'),
      Item: {
        key: `${lostPayment}:capture`, operation: 'capture', reference: lostPayment, outcome: 'succeeded', source: 'tok_success', amount: 777, currency: 'EUR',
        authorizationId: `auth_${lostPayment}`, captureId: `cap_${lostPayment}`, refundedAmount: 0, capturedDay: day, createdAt: `${day}T12:00:00.000Z`, expiresAt: Math.floor(Date.now() / 1000) + 3600,
      },
    }));
    const invoked = await clients.lambda.send(new InvokeCommand({ FunctionName: output('DailyReconciliationFunctionName'), Payload: Buffer.from(JSON.stringify({ day })) }));
    const answer = Buffer.from(invoked.Payload ?? new Uint8Array()).toString('utf8');
    expect(invoked.FunctionError, answer).toBeUndefined();
    const report = JSON.parse(answer) as { day: string; lastRunAt: string; counts: { processorCaptures: number; ledgerPostings: number; matched: number; inFlight: number; recovered: number; discrepancies: Record<string, number> } };
    expect(report.counts.discrepancies.unposted_capture).toBeGreaterThanOrEqual(1);

    await page.locator(`#daily-report-summary[data-day="${day}"]`).waitFor({ timeout: 15_000 });
    await expect(page.locator('#daily-report-ran').textContent()).resolves.toBe(`${report.lastRunAt.replace('T', ' ').slice(0, 19)} UTC`);
    const discrepancies = Object.values(report.counts.discrepancies).reduce((sum, count) => sum + count, 0);
    const { processorCaptures, ledgerPostings, matched, inFlight, recovered } = report.counts;
    await expect(page.locator('#daily-report-counts tbody td').allTextContents()).resolves.toEqual([processorCaptures, ledgerPostings, matched, inFlight, recovered, discrepancies].map(String));
    await expect(page.locator('#daily-report-mismatches').textContent()).resolves.toMatch(new RegExp(`^⚠ ${discrepancies} discrepancy\\(ies\\) — .*unposted_capture ${report.counts.discrepancies.unposted_capture}`));
    await expect(page.locator('#daily-report-findings tr', { hasText: lostPayment }).textContent()).resolves.toMatch(/unposted_capture/);
    await expect(page.locator('#alarm-table tr', { hasText: 'ReconciliationDiscrepancies' }).textContent()).resolves.toMatch(/FIRING/);

    // A refund pending for 31 minutes (written without an event, as the redrive test writes its payment: put as
    // another entity, then made a refund without a status change; no openEntity, so reconciliation leaves it alone).
    const refundId = `re_${randomBytes(12).toString('hex')}`;
    const stuckSince = new Date(Date.now() - 31 * 60_000).toISOString();
    const key = { PK: `PAYMENT#pay_${randomBytes(12).toString('hex')}`, SK: `REFUND#${refundId}` };
    await clients.dynamodb.send(new PutCommand({
      TableName: output('PaymentsTableName'),
      Item: { ...key, entity: 'seeded', id: refundId, paymentId: key.PK.slice('PAYMENT#'.length), amount: 500, currency: 'EUR', status: 'pending', createdAt: stuckSince, updatedAt: stuckSince },
    }));
    try {
      await clients.dynamodb.send(new UpdateCommand({ TableName: output('PaymentsTableName'), Key: key, UpdateExpression: 'SET entity = :refund', ExpressionAttributeValues: { ':refund': 'refund' } }));
      const oldest = page.locator('#alarm-table tr', { hasText: 'OldestOpenRefundAge' });
      await page.locator('#alarm-table tr', { hasText: refundId }).first().waitFor({ timeout: 15_000 });
      await expect(oldest.textContent()).resolves.toMatch(new RegExp(`FIRING.*oldest open: ${refundId} of pay_[0-9a-f]+, 3[12] min \\d+ s`));
      await expect(page.locator('#alarm-table tr', { hasText: 'Refunds not terminal after 15 minutes' }).textContent()).resolves.toMatch(new RegExp(`FIRING.*${refundId} \\(3[12] min`));
      await expect(page.locator('#open-items').textContent()).resolves.toMatch(/[1-9]\d* refund\(s\) not terminal, the oldest for 3[12] min\./);
    } finally {
      await clients.dynamodb.send(new DeleteCommand({ TableName: output('PaymentsTableName'), Key: key }));
    }
  });

  it('is driven from the keyboard and never shows a secret', async () => {
    const { page } = session;
    await page.goto(`${session.console.url}#/stack`);
    await page.locator('#outputs').waitFor();
    const text = await page.locator('body').textContent();
    for (const [name, value] of Object.entries(stack().outputs)) if (/ApiKeyValue/.test(name)) expect(text).not.toContain(value);
    for (const key of Object.values(stack().apiKeys)) expect(text).not.toContain(key.value);

    await page.keyboard.press('1');
    await page.locator('#payments tbody tr a').first().waitFor();
    await page.keyboard.press('j');
    const focused = await page.evaluate<string | null>("document.activeElement && document.activeElement.getAttribute('data-payment-id')");
    expect(focused).toMatch(/^pay_/);
    await page.keyboard.press('Enter');
    await page.waitForURL(`**#/payments/${focused}`);
    await page.locator('#timeline').waitFor();
    await page.keyboard.press('Escape');
    await page.waitForURL('**#/payments');
    expect(session.pageErrors).toEqual([]);
  });
});
