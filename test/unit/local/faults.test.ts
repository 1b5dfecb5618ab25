/**
 * The runner's fault injector (tools/local-runner/faults): decisions replay by seed whatever the order of the
 * calls, rates hold, rules select by service, operation, caller and resource, bursts and limits bound them,
 * and every injection is counted by kind and boundary. And what the proxy serves for each kind, against a
 * real HTTP upstream.
 */
import { createServer, request, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FaultInjector, resourcesOf, type FaultCall, type FaultPlan } from '../../../tools/local-runner/faults/plan.ts';
import { serveWithFault } from '../../../tools/local-runner/faults/serve.ts';

const caller = { session: 'Payflow-CaptureFunction', role: 'CaptureFunctionRole', environment: 'CaptureFunction#1' };
const call = (n: number, overrides: Partial<FaultCall> = {}): FaultCall => {
  const body = { TableName: n % 2 ? 'Payments' : 'Processor', Key: { PK: { S: `PAYMENT#${n}` } } };
  return { service: 'dynamodb', operation: 'PutItem', caller, body, rawBody: Buffer.from(JSON.stringify(body)), ...overrides };
};
const injector = (plan: FaultPlan) => new FaultInjector(plan, () => true);

describe('FaultInjector', () => {
  it('decides by seed and request, not by arrival order: a shuffled replay meets the same faults', () => {
    const plan: FaultPlan = { seed: 7, rules: [{ kind: 'throttle', rate: 0.3 }] };
    const calls = Array.from({ length: 400 }, (_, n) => call(n));
    const first = injector(plan);
    const decided = new Map(calls.map((c, n) => [n, first.decide(c)?.kind]));
    const replay = injector(plan);
    const order = [...calls.keys()].reverse();
    for (const n of order) expect(replay.decide(calls[n]!)?.kind, `call ${n}`).toBe(decided.get(n));
    const other = injector({ ...plan, seed: 8 });
    expect(calls.map((c) => other.decide(c)?.kind)).not.toEqual([...decided.values()]);
  });

  it('fires at about its rate, and a repeat of the same request draws again', () => {
    const faults = injector({ seed: 1, rules: [{ kind: 'server-error', rate: 0.1 }] });
    const fired = Array.from({ length: 5_000 }, (_, n) => faults.decide(call(n))).filter(Boolean).length;
    expect(fired).toBeGreaterThan(400);
    expect(fired).toBeLessThan(600);
    const same = call(1);
    const repeats = Array.from({ length: 200 }, () => faults.decide(same)).filter(Boolean).length;
    expect(repeats).toBeGreaterThan(5);
    expect(repeats).toBeLessThan(60);
  });

  it('selects by service, operation, caller and resource (a transaction by any of its tables); response-lost only on writes by default', () => {
    const faults = injector({
      seed: 1,
      rules: [
        { kind: 'kill-after', rate: 1, services: ['dynamodb'], operations: ['TransactWriteItems'], callers: /PostLedger/, resources: /^Payments$/ },
        { kind: 'response-lost', rate: 1, services: ['sqs'] },
      ],
    });
    const transaction = { TransactItems: [{ Put: { TableName: 'Payments' } }, { Update: { TableName: 'Other' } }] };
    const ledger = { session: 'Payflow-PostLedgerFunction', role: 'PostLedgerFunctionRole', environment: 'PostLedgerFunction#3' };
    const transact = (who = ledger, body: object = transaction): FaultCall => ({ service: 'dynamodb', operation: 'TransactWriteItems', caller: who, body: body as Record<string, unknown>, rawBody: Buffer.from(JSON.stringify(body)) });
    expect(resourcesOf(transact())).toEqual(['Payments', 'Other']);
    expect(faults.decide(transact())?.kind).toBe('kill-after');
    expect(faults.decide(transact(caller))).toBeUndefined();
    expect(faults.decide(transact(ledger, { TransactItems: [{ Put: { TableName: 'Processor' } }] }))).toBeUndefined();
    // A mapping's poller signs with the function's role but is no execution environment: nothing to kill.
    expect(faults.decide(transact({ ...ledger, environment: undefined as never }))).toBeUndefined();
    const sqs = (operation: string): FaultCall => ({ service: 'sqs', operation, caller, body: { QueueUrl: 'q' }, rawBody: Buffer.from(operation) });
    expect(faults.decide(sqs('SendMessageBatch'))?.kind).toBe('response-lost');
    expect(faults.decide(sqs('DeleteMessage'))?.kind).toBe('response-lost');
    expect(faults.decide(sqs('ReceiveMessage'))).toBeUndefined();
    // Calls signed by nobody of the stack (the runner's own clients) are never faulted.
    expect(faults.decide({ ...sqs('SendMessage'), caller: undefined })).toBeUndefined();
  });

  it('stops at its limit, holds only inside bursts (a freeze lasts until the burst ends), and counts by kind and boundary', () => {
    const limited = injector({ seed: 1, rules: [{ kind: 'throttle', rate: 1, limit: 3 }] });
    expect(Array.from({ length: 10 }, (_, n) => limited.decide(call(n))).filter(Boolean)).toHaveLength(3);
    const frozen = injector({ seed: 1, rules: [{ kind: 'latency', rate: 1, bursts: { everyMs: 60_000, forMs: 5_000 } }] });
    const freeze = frozen.decide(call(1));
    expect(freeze).toMatchObject({ kind: 'latency' });
    expect((freeze as { delayMs: number }).delayMs).toBeGreaterThan(4_000);
    expect((freeze as { delayMs: number }).delayMs).toBeLessThanOrEqual(5_000);
    const later = injector({ seed: 1, rules: [{ kind: 'latency', rate: 1, bursts: { everyMs: 60_000, forMs: 5_000, startMs: 30_000 } }] });
    expect(later.decide(call(1))).toBeUndefined();
    limited.decide(call(1, { service: 'sqs', operation: 'SendMessageBatch' }));
    expect(limited.countsByKindAndBoundary()).toEqual(new Map([['throttle', new Map([['dynamodb:PutItem', 3]])]]));
  });

  it('refuses an unknown kind or a rate outside 0..1', () => {
    expect(() => injector({ seed: 1, rules: [{ kind: 'explode' as never, rate: 0.1 }] })).toThrow(/Unknown fault kind explode/);
    expect(() => injector({ seed: 1, rules: [{ kind: 'throttle', rate: 2 }] })).toThrow(/not within 0..1/);
  });
});

describe('serveWithFault (what the caller sees, what the upstream got)', () => {
  async function withProxy(kind: 'throttle' | 'server-error' | 'response-lost' | 'kill-before' | 'kill-after', service: 'dynamodb' | 'sqs' | 'states') {
    const applied: string[] = [];
    const killed: string[] = [];
    const upstream = createServer((req, res) => {
      applied.push(req.url ?? '');
      res.end('{"ok":true}');
    });
    await new Promise<void>((done) => upstream.listen(0, '127.0.0.1', done));
    const upstreamPort = (upstream.address() as AddressInfo).port;
    const faults = new FaultInjector({ seed: 1, rules: [] }, (environment) => (killed.push(environment), true));
    const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
      serveWithFault({ kind, rule: 0 }, {
        service,
        response: res,
        environment: 'Fn#1',
        faults,
        forward: (answered) => {
          const outgoing = request({ host: '127.0.0.1', port: upstreamPort, path: req.url, method: 'POST' }, (answer) => (answered ? answered(answer) : answer.pipe(res)));
          outgoing.end();
        },
      });
    });
    await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    const port = (proxy.address() as AddressInfo).port;
    const answer = await fetch(`http://127.0.0.1:${port}/call`, { method: 'POST' }).then(
      async (response) => ({ status: response.status, type: response.headers.get('x-amzn-errortype'), query: response.headers.get('x-amzn-query-error'), body: await response.text() }),
      (error: Error) => ({ lost: error.message }),
    );
    proxy.closeAllConnections();
    upstream.closeAllConnections();
    await Promise.all([new Promise((done) => proxy.close(done)), new Promise((done) => upstream.close(done))]);
    return { answer, applied, killed };
  }

  it("throttle and server-error answer AWS's error of each service without forwarding", async () => {
    expect(await withProxy('throttle', 'dynamodb')).toMatchObject({ answer: { status: 400, type: 'ThrottlingException' }, applied: [] });
    expect(await withProxy('throttle', 'sqs')).toMatchObject({ answer: { status: 400, query: 'RequestThrottled;Sender' }, applied: [] });
    expect(await withProxy('server-error', 'dynamodb')).toMatchObject({ answer: { status: 500, type: 'InternalServerError' }, applied: [] });
    expect(await withProxy('server-error', 'states')).toMatchObject({ answer: { status: 503, type: 'ServiceUnavailable' }, applied: [] });
  });

  it('response-lost and kill-after apply the call and lose the answer; kill-before applies nothing; the kills name the environment', async () => {
    expect(await withProxy('response-lost', 'dynamodb')).toMatchObject({ answer: { lost: expect.any(String) }, applied: ['/call'], killed: [] });
    expect(await withProxy('kill-after', 'sqs')).toMatchObject({ answer: { lost: expect.any(String) }, applied: ['/call'], killed: ['Fn#1'] });
    expect(await withProxy('kill-before', 'states')).toMatchObject({ answer: { lost: expect.any(String) }, applied: [], killed: ['Fn#1'] });
  });
});
