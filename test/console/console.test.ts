// The console in a real browser (headless Chromium from Debian, driven by playwright-core) against the
// stack the acceptance global setup gives (the twin by default): payments with several tokens and a
// refund appear and reach their terminal states, one payment's journey lists its steps in order with
// its saga drawn, a message dead-lettered on purpose is listed with its reason, and the page is usable
// from the keyboard and shows no secret. UPDATE_SCREENSHOT=1 rewrites docs/console-journey.png.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Payment } from '../../client/payments-client.ts';
import { merchant, newKey, output, paymentReaching, sqsClient, stack } from '../acceptance/target.ts';
import { openConsole, type ConsoleSession } from './browser.ts';

const TERMINAL: Record<string, string> = { tok_success: 'partially_refunded', tok_flaky: 'succeeded', tok_decline: 'failed', tok_capture_fail: 'failed', tok_insufficient_funds: 'failed' };

describe('the console (headless Chromium, against the stack under test)', () => {
  let session: ConsoleSession;
  const payments: Record<string, Payment> = {};

  beforeAll(async () => {
    const merchantA = merchant('MerchantA');
    await Promise.all(
      Object.keys(TERMINAL).map(async (token) => {
        payments[token] = await merchantA.client.createPayment({ amount: 4200, currency: 'EUR', source: token, description: `console ${token}` }, { idempotencyKey: newKey('console') });
      }),
    );
    session = await openConsole(stack().outputs);
  });
  afterAll(async () => session?.close());

  it('lists every payment newest first and shows each reach its terminal state (a refund included)', async () => {
    const { page } = session;
    for (const payment of Object.values(payments)) await page.locator(`tr[data-payment-id="${payment.id}"]`).waitFor({ timeout: 15_000 });
    const merchantA = merchant('MerchantA');
    await paymentReaching(merchantA, payments.tok_success!.id, ['succeeded']);
    await merchantA.client.createRefund(payments.tok_success!.id, { amount: 1000 }, { idempotencyKey: newKey('console-refund') });
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
      find(/^state: State MarkProcessing/),
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
    expect(visited).toEqual(expect.arrayContaining(['MarkProcessing', 'Authorize', 'Capture', 'PostLedger']));
    expect(await page.locator(`[data-execution="payment-${id}"] svg g.node[data-state="VoidAuthorization"]`).getAttribute('class')).not.toMatch(/visited/);
    // Ledger postings as debits and credits, balanced.
    await expect(page.locator('#ledger').textContent()).resolves.toMatch(/42\.00 EUR[\s\S]*42\.00 EUR[\s\S]*balanced/);
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
