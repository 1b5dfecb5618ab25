// Duplicate storms (issue 10): many concurrent identical requests (same merchant, key and body) over
// HTTP make exactly one payment item, one saga execution and one authorization at the processor;
// every other answer is a byte-identical replay or 409 idempotency_key_in_use, never a 5xx. One key
// with different bodies: one wins, the rest are 422 idempotency_key_reused or 409.
//
// PAYFLOW_STORM_REQUESTS sets the storm's size (150 here; `npm run storm -- --requests 1000` for the
// full one). A request the usage plan throttles (429 rate_limited: it never reached the function) is
// sent again after its Retry-After, as a client would, so that every request of the storm reaches the API.
import { randomUUID } from 'node:crypto';
import { ListExecutionsCommand, type ExecutionListItem } from '@aws-sdk/client-sfn';
import { GetCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call, dynamodbClient, type HttpAnswer, merchant, newKey, output, paymentReaching, sfnClient, TERMINAL_PAYMENT_STATUSES } from './target.ts';

const REQUESTS = Number(process.env.PAYFLOW_STORM_REQUESTS ?? 150);
const merchantA = merchant('MerchantA');
const dynamodb = dynamodbClient();
const sfn = sfnClient();
beforeAll(async () => {
  console.log(`storm: create-payment warm after ${await warmCreatePayment()} wave(s) of 24 refused requests`);
}, 300_000);
afterAll(() => {
  dynamodb.destroy();
  sfn.destroy();
});

/**
 * One request, sent again while the gateway throttles it (it never reached the function then), or when
 * the connection closed before any answer (a kept-alive connection the server had just closed): what a
 * client does, with the same key and body.
 */
async function unthrottled(send: () => Promise<HttpAnswer>): Promise<HttpAnswer & { throttled: number }> {
  for (let throttled = 0, unanswered = 0; ; throttled++) {
    let answer: HttpAnswer;
    try {
      answer = await send();
    } catch (error) {
      if (++unanswered > 5) throw error;
      continue;
    }
    if (answer.status !== 429 || answer.json?.error?.code !== 'rate_limited' || throttled >= 200) return { ...answer, throttled };
    const retryAfterMs = Number(answer.headers.get('retry-after') ?? 1) * 1000;
    await new Promise((resolve) => setTimeout(resolve, retryAfterMs * (0.5 + Math.random())));
  }
}

/**
 * Starts create-payment's execution environments before a storm, with requests that are refused (400,
 * nothing written): on the twin a dozen cold starts at once on two cores can outlast Lambda's 10 s init
 * limit and answer 502 — a cold-start artifact of the machine, not what the storm is about (on AWS each
 * environment has its own CPU). Waves until one is answered without a 5xx.
 */
async function warmCreatePayment(): Promise<number> {
  // More at once than the twin runs environments of one function (10 at most), until two waves in a row pass.
  for (let wave = 1, clean = 0; wave <= 10; wave++) {
    const answers = await Promise.all(Array.from({ length: 24 }, () => call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: newKey('storm-warm'), body: {} }).catch(() => undefined)));
    clean = answers.every((answer) => answer !== undefined && answer.status < 500) ? clean + 1 : 0;
    if (clean === 2) return wave;
  }
  throw new Error('create-payment still answers 5xx after 10 warm-up waves: the machine is too loaded to measure a storm');
}

const storm = (bodies: (index: number) => unknown, key: string) =>
  Promise.all(Array.from({ length: REQUESTS }, (_, index) => unthrottled(() => call('POST', 'payments', { apiKey: merchantA.apiKey, idempotencyKey: key, body: bodies(index) }))));

const tally = (answers: HttpAnswer[]) =>
  answers.reduce<Record<string, number>>((counts, answer) => {
    const name = `${answer.status}${answer.json?.error?.code ? ` ${answer.json.error.code}` : ''}${answer.headers.get('idempotent-replayed') === 'true' ? ' replay' : ''}`;
    counts[name] = (counts[name] ?? 0) + 1;
    return counts;
  }, {});

/** Payment items of the table whose description is `marker` (a fresh marker per storm). */
async function paymentItemsDescribed(marker: string): Promise<Array<Record<string, unknown>>> {
  const items: Array<Record<string, unknown>> = [];
  const pages = paginateScan({ client: dynamodb }, {
    TableName: output('PaymentsTableName'),
    FilterExpression: 'entity = :payment AND description = :marker',
    ExpressionAttributeValues: { ':payment': 'payment', ':marker': marker },
  });
  for await (const page of pages) items.push(...(page.Items ?? []));
  return items;
}

async function sagaExecutionsOf(paymentId: string): Promise<ExecutionListItem[]> {
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  do {
    const page = await sfn.send(new ListExecutionsCommand({ stateMachineArn: output('PaymentSagaArn'), maxResults: 1000, nextToken }));
    found.push(...(page.executions ?? []).filter((execution) => execution.name?.startsWith(`payment-${paymentId}`)));
    nextToken = page.nextToken;
  } while (nextToken);
  return found;
}

/** The simulated processor's idempotency records of one operation of the payment (its key is `<paymentId>:<operation>`). */
async function processorRecord(paymentId: string, operation: 'authorize' | 'capture'): Promise<Record<string, unknown> | undefined> {
  const { Item } = await dynamodb.send(new GetCommand({ TableName: output('ProcessorTableName'), Key: { key: `${paymentId}:${operation}` }, ConsistentRead: true }));
  return Item;
}

async function processorRecordsOf(paymentId: string): Promise<Array<Record<string, unknown>>> {
  const records: Array<Record<string, unknown>> = [];
  const pages = paginateScan({ client: dynamodb }, { TableName: output('ProcessorTableName'), FilterExpression: '#reference = :id', ExpressionAttributeNames: { '#reference': 'reference' }, ExpressionAttributeValues: { ':id': paymentId } });
  for await (const page of pages) records.push(...(page.Items ?? []));
  return records;
}

describe(`a storm of ${REQUESTS} concurrent identical requests (same merchant, key, body)`, () => {
  it('makes one payment, one saga execution, one authorization; every other answer is a byte-identical replay or 409; no 5xx', async () => {
    const marker = `storm ${randomUUID()}`;
    const body = { amount: 4200, currency: 'USD', source: 'tok_success', description: marker };
    const answers = await storm(() => body, newKey('storm'));
    const counts = tally(answers);
    console.log(`storm of ${REQUESTS} identical requests: ${JSON.stringify(counts)}; throttled and sent again: ${answers.reduce((total, answer) => total + answer.throttled, 0)}`);

    expect(answers.filter((answer) => answer.status >= 500), JSON.stringify(counts)).toEqual([]);
    const created = answers.filter((answer) => answer.status === 201);
    const fresh = created.filter((answer) => answer.headers.get('idempotent-replayed') !== 'true');
    expect(fresh, JSON.stringify(counts)).toHaveLength(1);
    for (const replay of created) expect(replay.text).toBe(fresh[0]!.text);
    const others = answers.filter((answer) => answer.status !== 201);
    for (const other of others) expect({ status: other.status, code: other.json?.error?.code }).toEqual({ status: 409, code: 'idempotency_key_in_use' });

    const paymentId = fresh[0]!.json.id as string;
    const items = await paymentItemsDescribed(marker);
    expect(items.map((item) => item.id)).toEqual([paymentId]);
    await paymentReaching(merchantA, paymentId, TERMINAL_PAYMENT_STATUSES);
    expect((await sagaExecutionsOf(paymentId)).map((execution) => execution.name)).toEqual([`payment-${paymentId}`]);
    const records = await processorRecordsOf(paymentId);
    expect(records.filter((record) => record.operation === 'authorize')).toHaveLength(1);
    expect(records.filter((record) => record.operation === 'capture')).toHaveLength(1);
    expect(await processorRecord(paymentId, 'authorize')).toMatchObject({ outcome: 'succeeded', amount: 4200 });
  });
});

describe(`a storm of ${REQUESTS} concurrent requests with one key and different bodies`, () => {
  it('one body wins (201, once); every other answer is 422 idempotency_key_reused or 409; one payment, with the winning amount', async () => {
    const marker = `storm-bodies ${randomUUID()}`;
    const answers = await storm((index) => ({ amount: 1000 + index, currency: 'USD', source: 'tok_success', description: marker }), newKey('storm-bodies'));
    const counts = tally(answers);
    console.log(`storm of ${REQUESTS} different bodies: ${JSON.stringify(counts)}`);

    expect(answers.filter((answer) => answer.status >= 500), JSON.stringify(counts)).toEqual([]);
    const created = answers.filter((answer) => answer.status === 201);
    expect(created, JSON.stringify(counts)).toHaveLength(1);
    for (const other of answers.filter((answer) => answer.status !== 201)) {
      expect([`409 idempotency_key_in_use`, `422 idempotency_key_reused`]).toContain(`${other.status} ${other.json?.error?.code}`);
    }
    const winner = created[0]!.json as { id: string; amount: number };
    const items = await paymentItemsDescribed(marker);
    expect(items.map((item) => [item.id, item.amount])).toEqual([[winner.id, winner.amount]]);
    await paymentReaching(merchantA, winner.id, TERMINAL_PAYMENT_STATUSES);
    expect((await processorRecordsOf(winner.id)).filter((record) => record.operation === 'authorize').map((record) => record.amount)).toEqual([winner.amount]);
  });
});
