/**
 * POSTs webhooks over HTTP(S) without letting a URL reach inside the network (SSRF): the host is resolved,
 * every address it resolves to must be public (isAllowedAddress), and the connection goes to the address
 * that was checked — the socket's `lookup` returns it — so a DNS answer that changes between the check and
 * the connection (DNS rebinding) cannot redirect it. Redirects are not followed. TLS still verifies the
 * certificate against the URL's host name.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import { numberSetting, setting } from '#commons/environment';
import { isAllowedAddress, webhookUrlProblem } from '#domain/webhooks';
import type { WebhookPostResult, WebhookSender } from '#ports/webhook-deliveries';

export interface WebhookSenderOptions {
  timeoutMs: number;
  devMode: boolean;
  /** The resolver (tests give their own). */
  resolve?: (host: string) => Promise<Array<{ address: string; family: number }>>;
}

export class HttpWebhookSender implements WebhookSender {
  constructor(private readonly options: WebhookSenderOptions) {}

  async post(url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult> {
    const problem = webhookUrlProblem(url, this.options.devMode);
    if (problem) return { error: `refused: ${problem}` };
    const target = new URL(url);
    const host = target.hostname.replace(/^\[|\]$/g, '');
    let addresses: Array<{ address: string; family: number }>;
    try {
      addresses = isIP(host) ? [{ address: host, family: isIP(host) }] : await (this.options.resolve ?? ((name) => dnsLookup(name, { all: true })))(host);
    } catch (error) {
      return { error: `DNS: ${error instanceof Error ? error.message : String(error)}` };
    }
    const refused = addresses.find(({ address }) => !isAllowedAddress(address, this.options.devMode));
    if (refused || addresses.length === 0) return { error: `refused: ${host} resolves to ${refused?.address ?? 'nothing'}, not a public address` };
    const checked = addresses[0]!;
    const pinnedLookup: LookupFunction = (_hostname, options, callback) => {
      if (options.all) (callback as unknown as (error: null, addresses: Array<{ address: string; family: number }>) => void)(null, [checked]);
      else callback(null, checked.address, checked.family);
    };
    return new Promise<WebhookPostResult>((resolve) => {
      const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
      const request = send(target, {
        method: 'POST',
        headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
        lookup: pinnedLookup,
        timeout: this.options.timeoutMs,
      });
      const deadline = setTimeout(() => request.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)), this.options.timeoutMs);
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.options.timeoutMs} ms`)));
      request.on('error', (error) => {
        clearTimeout(deadline);
        resolve({ error: error.message });
      });
      request.on('response', (response) => {
        // The status is what counts; the body is read (at most a little) and dropped.
        response.resume();
        response.on('end', () => {
          clearTimeout(deadline);
          resolve({ status: response.statusCode });
        });
        response.on('error', () => {
          clearTimeout(deadline);
          resolve({ status: response.statusCode });
        });
      });
      request.end(body);
    });
  }
}

export const webhookSenderFromSettings = () =>
  new HttpWebhookSender({ timeoutMs: numberSetting('webhookTimeoutSeconds', 10) * 1000, devMode: setting('webhookDevMode') === 'true' });
