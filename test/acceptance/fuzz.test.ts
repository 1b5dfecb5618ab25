// HTTP fuzzing (issue 10) with fast-check against the stack under test, over raw connections (so that
// what fetch refuses to send — control characters in headers, duplicated headers, a wrong
// Content-Length — is sent too): malformed and deeply nested JSON, wrong types, boundary and huge
// numbers, unicode, BOMs, control characters, duplicated JSON keys and headers, oversized bodies and
// headers, odd content types and encodings, odd idempotency keys, path and method variants.
//
// Every request gets an answer (API Gateway answers every connection); no 5xx; every error in DESIGN §2's
// shape (contract/errors.ts) with a request id; and a refused create-payment wrote nothing (no payment item
// under the id its key would give).
//
// PAYFLOW_FUZZ_RUNS and PAYFLOW_FUZZ_SEED size and seed the run: in `npm test` 200 requests of a fixed seed;
// `npm run fuzz -- --runs 10000 [--seed N]` draws a seed and prints it. A failure prints its seed; the same
// --runs and --seed replay it.
import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { paymentIdFor } from '../../lambdas/domain/ids.ts';
import { dynamodbClient, merchant, output, stack } from './target.ts';

const RUNS = Number(process.env.PAYFLOW_FUZZ_RUNS ?? 200);
const SEED = Number(process.env.PAYFLOW_FUZZ_SEED ?? 20261202);
const merchantA = merchant('MerchantA');
const dynamodb = dynamodbClient();
afterAll(() => dynamodb.destroy());

interface RawAnswer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

/** One request as bytes on a fresh connection (Connection: close), and the whole answer. */
function rawExchange(request: Buffer): Promise<RawAnswer> {
  const url = new URL(stack().apiUrl);
  const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
  return new Promise((resolve, reject) => {
    const socket: Socket = url.protocol === 'https:' ? tlsConnect({ host: url.hostname, port, servername: url.hostname }) : tcpConnect(port, url.hostname);
    const chunks: Buffer[] = [];
    socket.setTimeout(60_000, () => socket.destroy(new Error('no answer within 60 s')));
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', reject);
    socket.on('close', () => {
      try {
        resolve(parseAnswer(Buffer.concat(chunks)));
      } catch (error) {
        reject(error);
      }
    });
    socket.write(request);
  });
}

function parseAnswer(received: Buffer): RawAnswer {
  let bytes = received;
  // An interim answer (`100 Continue` to `Expect: 100-continue`) comes before the answer.
  while (/^HTTP\/1\.1 1\d\d /.test(bytes.subarray(0, 13).toString('latin1')) && bytes.indexOf('\r\n\r\n') >= 0) bytes = bytes.subarray(bytes.indexOf('\r\n\r\n') + 4);
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) throw new Error(`no complete answer: ${JSON.stringify(bytes.subarray(0, 200).toString('latin1'))}`);
  const [statusLine = '', ...lines] = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let body = bytes.subarray(end + 4);
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const parts: Buffer[] = [];
    for (let at = 0; ; ) {
      const lineEnd = body.indexOf('\r\n', at);
      const size = parseInt(body.subarray(at, lineEnd).toString('latin1'), 16);
      if (!size) break;
      parts.push(body.subarray(lineEnd + 2, lineEnd + 2 + size));
      at = lineEnd + 2 + size + 2;
    }
    body = Buffer.concat(parts);
  }
  return { status: Number(statusLine.split(' ')[1]), headers, body };
}

// ------------------------------------------------------------------------------------------ the requests

interface FuzzRequest {
  method: string;
  path: string;
  headers: Array<[string, string]>;
  body?: Buffer;
  /** Content-Length as sent: the body's length unless the case lies about it. */
  contentLength?: string;
  /** The merchant id and key a create-payment would use, when the request carries exactly one key of a known merchant. */
  createsWith?: { merchantId: string; idempotencyKey: string };
}

const text = (value: string) => Buffer.from(value, 'utf8');
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);
let sequence = 0;
const freshKey = () => `fuzz-${SEED}-${(sequence += 1)}`;

const hugeNumbers = fc.constantFrom('1e400', '-1e400', '9007199254740993', '-9007199254740993', '1e-400', '-0', '0.0', '1.5', '99999999999999999999999', '0x10', '1_000', 'NaN', 'Infinity', '+1', '01', '.5', '5.', '2147483648', '-2147483649', '100000000');
const amountText = fc.oneof(
  fc.integer().map(String),
  fc.integer({ min: -2, max: 100_000_001 }).map(String),
  hugeNumbers,
  fc.double().map((value) => JSON.stringify(value) ?? 'null'),
  fc.string().map((value) => JSON.stringify(value)),
  fc.constantFrom('null', 'true', 'false', '[]', '{}', '[1000]', '{"value":1000}', '"1000"'),
);
const unicodeText = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('\u0000', '\u001f', '\u007f', '\ud800', '\udfff', '\ufeff', '\uffff', '\ufffe', '😀'.repeat(10), 'a\u0301', '\u202e', 'x'.repeat(5_000)),
);
const jsonString = unicodeText.map((value) => JSON.stringify(value));
const currencyText = fc.oneof(fc.constantFrom('"USD"', '"usd"', '"EUR"', '"JPY"', '"XXX"', '"US"', '"USDD"', '""', 'null', '840', '["USD"]'), jsonString);
const sourceText = fc.oneof(fc.constantFrom('"tok_success"', '"tok_decline"', '"tok_unknown"', '""', 'null', '1', '{"token":"tok_success"}'), jsonString);
const metadataText = fc.oneof(
  fc.dictionary(fc.string({ maxLength: 45 }), fc.string({ maxLength: 600 }), { maxKeys: 25 }).map((value) => JSON.stringify(value)),
  fc.constantFrom('null', '[]', '"x"', '{"a":1}', '{"a":{"b":"c"}}', '{"a":null}'),
);

/** A create-payment body close to a valid one, its fields mutated: wrong types, boundaries, unknown and duplicated keys. */
const paymentBodyText = fc
  .record(
    {
      amount: amountText,
      currency: currencyText,
      source: sourceText,
      description: jsonString,
      metadata: metadataText,
      unknown: fc.constantFrom('"capture"', '"id"', '"status"', '"__proto__"', '"constructor"', '"amount "'),
      duplicate: fc.constantFrom('"amount"', '"currency"', '"metadata"'),
    },
    { requiredKeys: [] },
  )
  .map(({ unknown, duplicate, ...fields }) => {
    const members = Object.entries(fields).map(([name, value]) => `"${name}":${value}`);
    if (unknown) members.push(`${unknown}:1`);
    if (duplicate) members.push(`${duplicate}:${fields[JSON.parse(duplicate) as keyof typeof fields] ?? '1'}`);
    return `{${members.join(',')}}`;
  });

const nestedJson = fc.tuple(fc.integer({ min: 1, max: 20_000 }), fc.constantFrom('[', '{"a":')).map(([depth, open]) => {
  const close = open === '[' ? ']' : '}';
  return `${open.repeat(depth)}1${close.repeat(depth)}`;
});
const malformedJson = fc.constantFrom('', ' ', '{', '}', '{"amount":}', '{"amount":1000,}', "{'amount':1000}", '{"amount":1000', 'null', 'true', '[]', '"str"', '1000', '{"amount":1000}{"amount":1}', '{"a":1}\u0000', '\u0000', '{"amount":1e}', '{"amount":--1}', '{"a":"\\ud800"}', '{"a":"\\u00"}', '/* c */{}');

const bodyBytes: fc.Arbitrary<Buffer | undefined> = fc.oneof(
  { weight: 6, arbitrary: paymentBodyText.map(text) },
  { weight: 2, arbitrary: fc.json({ maxDepth: 4 }).map(text) },
  { weight: 1, arbitrary: nestedJson.map(text) },
  { weight: 2, arbitrary: malformedJson.map(text) },
  { weight: 1, arbitrary: paymentBodyText.map((body) => Buffer.concat([BOM, text(body)])) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }).map((bytes) => Buffer.from(bytes)) },
  { weight: 1, arbitrary: paymentBodyText.map((body) => Buffer.from(body, 'utf16le')) },
  { weight: 1, arbitrary: fc.integer({ min: 16 * 1024 - 10, max: 64 * 1024 }).map((size) => text(`{"amount":1000,"currency":"USD","source":"tok_success","description":"${'d'.repeat(size)}"}`)) },
  { weight: 1, arbitrary: fc.constant(undefined) },
);

const contentTypes = fc.oneof(
  { weight: 6, arbitrary: fc.constant('application/json') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json; charset=utf-8', 'application/json; charset=UTF-16', 'application/json; charset=iso-8859-1', 'application/json;charset="utf-8"',
      'text/plain', 'text/html', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/xml', 'application/octet-stream',
      'application/*', '*/*', '', 'application/json; charset=', 'application/json; boundary=x', 'APPLICATION/JSON', 'application/merge-patch+json', 'json',
    ),
  },
  { weight: 1, arbitrary: unicodeText.map((value) => `application/${value}`) },
);
const encodings = fc.constantFrom(undefined, undefined, undefined, 'gzip', 'br', 'deflate', 'identity', 'x-unknown', 'gzip, gzip');

const idempotencyKeys = fc.oneof(
  { weight: 6, arbitrary: fc.constant('fresh') },
  {
    weight: 3,
    arbitrary: fc.oneof(
      fc.constantFrom('', ' ', '\t', 'k'.repeat(255), 'k'.repeat(256), 'k'.repeat(8_000), 'key\u0000', 'key\u007f', 'key with spaces', ' key ', 'ключ', '😀', '\u00ff\u00fe', 'a,b', 'a;b', '"quoted"', '../../etc', '%00'),
      unicodeText,
    ),
  },
  { weight: 1, arbitrary: fc.constant('twice') },
  { weight: 1, arbitrary: fc.constant('missing') },
);
const apiKeys = fc.constantFrom('merchant-a', 'merchant-a', 'merchant-a', 'merchant-a', 'missing', 'wrong', 'empty', 'twice');

/** encodeURIComponent, which throws on a lone surrogate: then every UTF-8 byte (a lone surrogate is EF BF BD) as %XX. */
function percentEncoded(value: string): string {
  try {
    return encodeURIComponent(value);
  } catch {
    return [...Buffer.from(value, 'utf8')].map((byte) => `%${byte.toString(16).toUpperCase().padStart(2, '0')}`).join('');
  }
}

const paths = fc.oneof(
  { weight: 8, arbitrary: fc.constant('payments') },
  { weight: 2, arbitrary: fc.constantFrom('payments/pay_0123456789abcdef01234567', 'payments/pay_0123456789abcdef01234567/refunds', 'payments/x/refunds', 'payments/', 'payments//refunds', '/payments', 'PAYMENTS', 'payments?limit=1', 'payments?x=%ff', 'payments/%2e%2e', 'payments/%00', 'payments/..%2f', 'payments;x=1', 'refunds', '', 'payments/a/b/c/d') },
  { weight: 1, arbitrary: unicodeText.map((value) => `payments/${percentEncoded(value)}`) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 12_000 }).map((size) => `payments/${'p'.repeat(size)}`) },
);
const methods = fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 3, arbitrary: fc.constantFrom('GET', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'post', 'TRACE', 'FOO') });
const extraHeaders = fc.array(
  fc.oneof(
    fc.constantFrom<[string, string]>(['Accept', 'application/xml'], ['Accept', '*/*'], ['Accept-Charset', 'utf-16'], ['X-Forwarded-For', '::1'], ['Transfer-Encoding', 'identity'], ['Expect', '100-continue'], ['Content-Type', 'text/plain'], ['X-Amzn-Trace-Id', 'garbage']),
    fc.tuple(fc.constantFrom('X-Fuzz', 'x-fuzz', 'X-Big'), unicodeText.map((value) => value.replace(/[\r\n]/g, ' '))),
    fc.integer({ min: 1_000, max: 12_000 }).map((size): [string, string] => ['X-Big', 'h'.repeat(size)]),
  ),
  { maxLength: 3 },
);

const fuzzRequests: fc.Arbitrary<FuzzRequest> = fc
  .record({ method: methods, path: paths, body: bodyBytes, contentType: contentTypes, encoding: encodings, key: idempotencyKeys, apiKey: apiKeys, extra: extraHeaders, lie: fc.constantFrom(false, false, false, false, true) })
  .map(({ method, path, body: generated, contentType, encoding, key, apiKey, extra, lie }) => {
    const body = generated;
    const headers: Array<[string, string]> = [];
    const value = merchantA.apiKey;
    if (apiKey === 'merchant-a') headers.push(['x-api-key', value]);
    if (apiKey === 'wrong') headers.push(['x-api-key', `${value}x`]);
    if (apiKey === 'empty') headers.push(['x-api-key', '']);
    if (apiKey === 'twice') headers.push(['x-api-key', value], ['X-Api-Key', value]);
    let createsWith: FuzzRequest['createsWith'];
    if (key === 'twice') {
      headers.push(['Idempotency-Key', freshKey()], ['idempotency-key', freshKey()]);
    } else if (key !== 'missing') {
      const idempotencyKey = key === 'fresh' ? freshKey() : key;
      headers.push(['Idempotency-Key', idempotencyKey.replace(/[\r\n]/g, '')]);
      if (apiKey === 'merchant-a') createsWith = { merchantId: merchantA.id, idempotencyKey };
    }
    if (body !== undefined && contentType !== '') headers.push(['Content-Type', contentType]);
    if (encoding) headers.push(['Content-Encoding', encoding]);
    headers.push(...extra);
    const contentLength = body === undefined ? (method === 'POST' ? '0' : undefined) : lie ? String(Math.max(0, body.length - 1)) : String(body.length);
    return { method, path, headers, body, contentLength, createsWith };
  });

function requestBytes(request: FuzzRequest): Buffer {
  const url = new URL(stack().apiUrl);
  const target = `${url.pathname.replace(/\/$/, '')}/${request.path.replace(/^\//, '')}`;
  const lines = [`${request.method} ${target} HTTP/1.1`, `Host: ${url.host}`, 'Connection: close', ...request.headers.map(([name, value]) => `${name}: ${value}`)];
  if (request.contentLength !== undefined) lines.push(`Content-Length: ${request.contentLength}`);
  return Buffer.concat([Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1'), request.body ?? Buffer.alloc(0)]);
}

const describeRequest = (request: FuzzRequest) =>
  `${request.method} ${request.path.slice(0, 120)} content-length=${request.contentLength ?? 'none'} headers=${JSON.stringify(request.headers.map(([name, value]) => [name, value.slice(0, 80)]))} body=${JSON.stringify(request.body?.subarray(0, 300).toString('utf8') ?? null)}${request.body && request.body.length > 300 ? `…(${request.body.length} bytes)` : ''}`;

/** DESIGN §2: `{"error":{"type","code","message","param"?}}`, JSON, with a request id. */
function errorShapeViolation(answer: RawAnswer): string | undefined {
  if (!/^application\/json/.test(answer.headers['content-type'] ?? '')) return `content-type ${answer.headers['content-type']}`;
  if (!answer.headers['x-amzn-requestid']) return 'no x-amzn-RequestId';
  let body: any;
  try {
    body = JSON.parse(answer.body.toString('utf8'));
  } catch {
    return 'the body is not JSON';
  }
  const error = body?.error;
  if (!body || typeof body !== 'object' || Object.keys(body).join() !== 'error' || !error || typeof error !== 'object') return 'not {"error":{…}}';
  const extra = Object.keys(error).filter((key) => !['type', 'code', 'message', 'param'].includes(key));
  if (extra.length > 0) return `unexpected members ${extra.join(', ')}`;
  if (!['invalid_request_error', 'authentication_error', 'idempotency_error', 'rate_limit_error', 'api_error'].includes(error.type)) return `type ${error.type}`;
  if (typeof error.code !== 'string' || !/^[a-z_]+$/.test(error.code)) return `code ${error.code}`;
  if (typeof error.message !== 'string' || error.message.length === 0) return 'no message';
  if (error.param !== undefined && typeof error.param !== 'string') return 'param not a string';
  return undefined;
}

describe(`HTTP fuzzing: ${RUNS} requests (seed ${SEED})`, () => {
  it('no 5xx; every error in the documented shape; a refused create-payment writes nothing', async () => {
    console.log(`fuzz: ${RUNS} runs, seed ${SEED} (replay: npm run fuzz -- --runs ${RUNS} --seed ${SEED})`);
    const statuses: Record<string, number> = {};
    const property = fc.asyncProperty(fuzzRequests, async (request) => {
      const answer = await rawExchange(requestBytes(request)).catch((error: unknown) => {
        throw new Error(`no answer (${error instanceof Error ? error.message : String(error)}): ${describeRequest(request)}`);
      });
      let code = '';
      try {
        code = JSON.parse(answer.body.toString('utf8'))?.error?.code ?? '';
      } catch {
        // not JSON: the shape check below says so
      }
      statuses[`${answer.status} ${code}`.trim()] = (statuses[`${answer.status} ${code}`.trim()] ?? 0) + 1;
      const context = `${describeRequest(request)}\n→ ${answer.status} ${answer.body.subarray(0, 300).toString('utf8')}`;
      if (answer.status >= 500) throw new Error(`5xx: ${context}`);
      if (answer.status >= 400 && request.method.toUpperCase() !== 'HEAD') {
        const violation = errorShapeViolation(answer);
        if (violation) throw new Error(`error shape (${violation}): ${context}`);
      }
      const isCreate = request.method === 'POST' && /^payments\/?(\?.*)?$/.test(request.path);
      if (answer.status >= 400 && isCreate && request.createsWith) {
        const id = paymentIdFor(request.createsWith.merchantId, request.createsWith.idempotencyKey);
        const { Item } = await dynamodb.send(new GetCommand({ TableName: output('PaymentsTableName'), Key: { PK: `PAYMENT#${id}`, SK: 'PAYMENT' }, ConsistentRead: true }));
        if (Item) throw new Error(`a refused request wrote payment ${id}: ${context}`);
      }
    });
    try {
      await fc.assert(property, { numRuns: RUNS, seed: SEED, endOnFailure: true });
    } finally {
      console.log(`fuzz answers (seed ${SEED}): ${JSON.stringify(Object.fromEntries(Object.entries(statuses).sort(([a], [b]) => a.localeCompare(b))))}`);
    }
    expect(Object.keys(statuses).length).toBeGreaterThan(5);
  });
});
