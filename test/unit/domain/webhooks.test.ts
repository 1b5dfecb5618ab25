import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { webhooks } from '../../../client/payments-client.ts';
import { HttpWebhookSender } from '../../../lambdas/adapters/http/webhook-sender.ts';
import {
  DEFAULT_RETRY_SCHEDULE,
  eventIdFor,
  isAllowedAddress,
  nextRetryDelaySeconds,
  signatureHeader,
  signingSecrets,
  wantsEvent,
  webhookUrlProblem,
} from '../../../lambdas/domain/webhooks.ts';

describe('webhook URLs outside dev mode (AWS)', () => {
  it.each([
    'http://127.0.0.1:8080/hook', 'https://127.0.0.1/hook', 'http://example.com/hook', 'https://10.1.2.3/h', 'https://172.16.0.1/h',
    'https://192.168.0.1/h', 'https://169.254.169.254/latest', 'https://100.64.0.1/h', 'https://[::1]/h', 'https://[fe80::1]/h',
    'https://[fd00::1]/h', 'https://[::ffff:127.0.0.1]/h', 'https://localhost/h', 'https://metadata.google.internal/h', 'https://intranet/h',
    'https://user:pw@example.com/h', 'ftp://example.com/h', 'nonsense',
  ])('%s is refused', (url) => {
    expect(webhookUrlProblem(url, false)).not.toBeNull();
  });

  it.each(['https://example.com/hook', 'https://hooks.example.org:8443/p?q=1', 'https://93.184.216.34/h'])('%s is accepted', (url) => {
    expect(webhookUrlProblem(url, false)).toBeNull();
  });

  it('dev mode allows http://127.0.0.1 and nothing else private', () => {
    expect(webhookUrlProblem('http://127.0.0.1:4000/h', true)).toBeNull();
    expect(webhookUrlProblem('http://127.0.0.2:4000/h', true)).not.toBeNull();
    expect(webhookUrlProblem('http://10.0.0.1/h', true)).not.toBeNull();
    expect(isAllowedAddress('127.0.0.1', false)).toBe(false);
    expect(isAllowedAddress('8.8.8.8', false)).toBe(true);
    expect(isAllowedAddress('2606:4700::1111', false)).toBe(true);
  });
});

describe('delivery-time address check (DNS rebinding)', () => {
  it('a public host name that resolves to a private or loopback address is refused without connecting', async () => {
    let connections = 0;
    const server = createServer((_request, response) => {
      connections++;
      response.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      for (const address of ['127.0.0.1', '10.0.0.7', '169.254.169.254']) {
        const sender = new HttpWebhookSender({ timeoutMs: 2000, devMode: false, resolve: async () => [{ address, family: 4 }] });
        const result = await sender.post(`https://hooks.example.com:${port}/x`, '{}', {});
        expect(result.status).toBeUndefined();
        expect(result.error).toMatch(/not a public address/);
      }
      expect(connections).toBe(0);
    } finally {
      server.close();
    }
  });

  it('connects to the address it checked, not to a second answer of the resolver', async () => {
    const server = createServer((_request, response) => response.writeHead(204).end());
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    let lookups = 0;
    // Dev mode (127.0.0.1 allowed); the first answer is the loopback, any later one would be elsewhere.
    const sender = new HttpWebhookSender({ timeoutMs: 2000, devMode: true, resolve: async () => [{ address: lookups++ === 0 ? '127.0.0.1' : '10.9.9.9', family: 4 }] });
    try {
      // An http URL with a name is refused by the URL policy even in dev mode; the IP form reaches the check.
      expect((await sender.post(`http://127.0.0.1:${port}/x`, '{}', {})).status).toBe(204);
      expect((await sender.post(`http://receiver.example:${port}/x`, '{}', {})).error).toMatch(/refused/);
    } finally {
      server.close();
    }
  });

  it('only a 2xx within the timeout counts: a slow receiver is a failure', async () => {
    const server = createServer((_request, response) => setTimeout(() => response.end('late'), 1500));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const result = await new HttpWebhookSender({ timeoutMs: 300, devMode: true }).post(`http://127.0.0.1:${port}/slow`, '{}', {});
      expect(result).toEqual({ error: expect.stringMatching(/no answer within 300 ms/) });
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });
});

describe('retries: exponential backoff with full jitter for the retry window', () => {
  it('waits at most min(cap, base * 2^(attempt-1)) and gives up once the window would be passed', () => {
    const schedule = DEFAULT_RETRY_SCHEDULE;
    expect(nextRetryDelaySeconds(schedule, 1, 0, () => 0.999)).toBeLessThanOrEqual(60);
    expect(nextRetryDelaySeconds(schedule, 3, 0, () => 0.999)).toBeCloseTo(240 * 0.999);
    expect(nextRetryDelaySeconds(schedule, 30, 0, () => 1)).toBe(6 * 3600);
    expect(nextRetryDelaySeconds(schedule, 1, 0, () => 0)).toBe(0);
    expect(nextRetryDelaySeconds(schedule, 20, 3 * 24 * 3600 - 10, () => 0.5)).toBeNull();
    // With the longest waits, 3 days take about 17 attempts; with full jitter, usually more.
    let elapsed = 0;
    let attempt = 1;
    for (let delay = nextRetryDelaySeconds(schedule, attempt, elapsed, () => 1); delay !== null; delay = nextRetryDelaySeconds(schedule, ++attempt, elapsed, () => 1)) elapsed += delay;
    expect(attempt).toBeGreaterThan(10);
    expect(elapsed).toBeLessThanOrEqual(3 * 24 * 3600);
  });
});

describe('signing and verifying', () => {
  const body = JSON.stringify({ id: 'evt_x', object: 'event', type: 'payment.succeeded' });
  it('constructEvent accepts the signature of either secret during an overlap, and refuses tampering, staleness and other secrets', () => {
    const endpoint = { secret: 'whsec_new', previousSecret: 'whsec_old', previousSecretExpiresAt: 2_000 };
    expect(signingSecrets(endpoint, 1_999)).toEqual(['whsec_new', 'whsec_old']);
    expect(signingSecrets(endpoint, 2_000)).toEqual(['whsec_new']);
    const header = signatureHeader(body, signingSecrets(endpoint, 1_000), 1_000);
    expect(header).toMatch(/^t=1000,v1=[0-9a-f]{64},v1=[0-9a-f]{64}$/);
    expect(webhooks.constructEvent(body, header, 'whsec_new', 300, 1_000).id).toBe('evt_x');
    expect(webhooks.constructEvent(Buffer.from(body), header, 'whsec_old', 300, 1_300).id).toBe('evt_x');
    expect(() => webhooks.constructEvent(body.replace('succeeded', 'failed'), header, 'whsec_new', 300, 1_000)).toThrow(/No signature matches/);
    expect(() => webhooks.constructEvent(body, header, 'whsec_new', 300, 1_301)).toThrow(/tolerance/);
    expect(() => webhooks.constructEvent(body, header, 'whsec_new', 300, 699)).toThrow(/tolerance/);
    expect(() => webhooks.constructEvent(body, header, 'whsec_other', 300, 1_000)).toThrow(/No signature matches/);
    expect(() => webhooks.constructEvent(body, 't=1000', 'whsec_new', 300, 1_000)).toThrow(/no v1/);
    expect(() => webhooks.constructEvent(body, undefined, 'whsec_new')).toThrow(/No Payflow-Signature/);
    expect(() => webhooks.constructEvent(body, header.replace(/v1=[0-9a-f]{2}/g, 'v1=zz'), 'whsec_new', 300, 1_000)).toThrow(/No signature matches/);
  });

  it('event ids sort by the time of the change and are the same for the same change', () => {
    const early = eventIdFor({ id: 'stream-1', occurredAt: '2026-12-01T10:00:00.000Z' });
    const late = eventIdFor({ id: 'stream-0', occurredAt: '2026-12-01T10:00:00.001Z' });
    expect(early < late).toBe(true);
    expect(eventIdFor({ id: 'stream-1', occurredAt: '2026-12-01T10:00:00.000Z' })).toBe(early);
  });

  it('an endpoint wants the types it lists, or all with *, and nothing while disabled', () => {
    expect(wantsEvent({ enabledEvents: ['*'], status: 'enabled' }, 'refund.failed')).toBe(true);
    expect(wantsEvent({ enabledEvents: ['payment.succeeded'], status: 'enabled' }, 'payment.failed')).toBe(false);
    expect(wantsEvent({ enabledEvents: ['*'], status: 'disabled' }, 'payment.failed')).toBe(false);
  });
});
