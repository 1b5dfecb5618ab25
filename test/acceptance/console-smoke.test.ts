// The console's smoke case in `npm test` (the full browser suite is npm run test:console): a payment
// created over HTTP appears in the console in headless Chromium, reaches `succeeded`, and its journey
// shows the request, the outbox record, the saga and the ledger posting, in that order.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openConsole, type ConsoleSession } from '../console/browser.ts';
import { merchant, newKey, stack } from './target.ts';

describe('the console shows a payment moving (smoke, headless Chromium)', () => {
  let session: ConsoleSession;
  beforeAll(async () => {
    session = await openConsole(stack().outputs);
  });
  afterAll(async () => session?.close());

  it('lists a new payment, shows it reach succeeded, and draws its journey in order', async () => {
    const payment = await merchant('MerchantA').client.createPayment({ amount: 1234, currency: 'EUR', source: 'tok_success', description: 'console smoke' }, { idempotencyKey: newKey('console-smoke') });
    const { page } = session;
    await page.locator(`tr[data-payment-id="${payment.id}"]`).waitFor({ timeout: 15_000 });
    await page.locator(`tr[data-payment-id="${payment.id}"][data-status="succeeded"]`).waitFor({ timeout: stack().deadlines.terminalMs });

    await page.locator(`a[data-payment-id="${payment.id}"]`).click();
    await page.locator('#timeline li[data-kind="status"]').waitFor({ timeout: 15_000 });
    const kinds = await page.locator('#timeline li').evaluateAll((items) => items.map((item) => item.getAttribute('data-kind')));
    const order = ['request', 'outbox', 'saga', 'ledger', 'status'].map((kind) => kinds.indexOf(kind));
    expect(order.every((index) => index >= 0), `timeline kinds: ${kinds.join(', ')}`).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(session.pageErrors).toEqual([]);
  });
});
