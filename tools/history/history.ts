/**
 * A payment's whole history from the twin's log (`npm start` writes `.payflow/local.log`): every function log
 * line about it, found by its payment id or by the API request id that created it or one of its refunds, and
 * the API's access-log lines of those requests. Apart from the product: it reads the log's text only.
 *
 * The log has one line per entry, `[<function or api|runner>] <text>`; a function's text is Powertools' JSON
 * (a payment's lines carry `paymentId`, a refund's `refundId`, both the `api_request_id` of the request that
 * created them), and the access log's is `<METHOD> /<stage><path> <status> <request id>`.
 */

/** The log key the functions write the creating API request's id under (lambdas/commons/correlation.ts). */
export const API_REQUEST_ID_KEY = 'api_request_id';

export interface LogEntry {
  /** 1-based line number in the log. */
  line: number;
  /** The function's logical id (`OutboxRelay5EB66629`), or `api` / `runner`. */
  source: string;
  /** Powertools' JSON, when the line is one. */
  record?: Record<string, unknown>;
  text: string;
}

const LINE = /^\[([^\]]+)\] (.*)$/;
const ACCESS_LINE = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|[A-Z]+) (\/\S*) (\d{3}) (\S+)/;

export function parseLogLine(text: string, line: number): LogEntry | undefined {
  const match = LINE.exec(text);
  if (!match) return undefined;
  const [, source, rest] = match as unknown as [string, string, string];
  if (rest.startsWith('{')) {
    try {
      const record = JSON.parse(rest) as unknown;
      if (record && typeof record === 'object' && !Array.isArray(record)) return { line, source, record: record as Record<string, unknown>, text: rest };
    } catch {
      // not JSON: kept as text
    }
  }
  return { line, source, text: rest };
}

/** What one entry is about: the payment, refund and request ids it names. */
function idsOf(entry: LogEntry): { paymentIds: string[]; refundIds: string[]; requestIds: string[] } {
  const record = entry.record;
  if (record) {
    const strings = (...keys: string[]) => keys.map((key) => record[key]).filter((value): value is string => typeof value === 'string' && value !== '');
    return { paymentIds: strings('paymentId'), refundIds: strings('refundId'), requestIds: strings(API_REQUEST_ID_KEY, 'correlation_id') };
  }
  const access = ACCESS_LINE.exec(entry.text);
  if (!access) return { paymentIds: [], refundIds: [], requestIds: [] };
  const path = access[2]!;
  return { paymentIds: [...path.matchAll(/pay_[A-Za-z0-9]+/g)].map((m) => m[0]), refundIds: [...path.matchAll(/re_[A-Za-z0-9]+/g)].map((m) => m[0]), requestIds: [access[4]!] };
}

/** A GET's access-log line or the get-payment function's line: a look at the payment, which changed nothing. */
const isRead = (entry: LogEntry) => (entry.record ? /^ApiGetPayment/.test(entry.source) : /^(GET|HEAD) /.test(entry.text));

const isMetricsLine = (entry: LogEntry) => entry.record !== undefined && '_aws' in entry.record && !('message' in entry.record);

export interface PaymentHistory {
  paymentIds: string[];
  /** The request ids that created the payment and its refunds. */
  requestIds: string[];
  entries: LogEntry[];
}

/**
 * The entries about the payment `query` names — a payment id (`pay_…`), or the API request id that created it or
 * one of its refunds — in log order. A request id that created nothing (a rejected POST) gives that request's own
 * lines. Reads (GETs of the payment) only with `reads`.
 */
export function paymentHistory(lines: Iterable<string>, query: string, options: { reads?: boolean } = {}): PaymentHistory {
  const entries: LogEntry[] = [];
  let number = 0;
  for (const text of lines) {
    number += 1;
    const entry = parseLogLine(text, number);
    if (entry && !isMetricsLine(entry) && (options.reads || !isRead(entry))) entries.push(entry);
  }
  const described = entries.map((entry) => ({ entry, ids: idsOf(entry) }));
  const paymentIds = new Set<string>();
  if (query.startsWith('pay_')) paymentIds.add(query);
  else for (const { ids } of described) if (ids.requestIds.includes(query)) ids.paymentIds.forEach((id) => paymentIds.add(id));
  // The request ids of the payment and of its refunds: every line that names the payment and a request id the
  // payment was created by (api_request_id) brings it in.
  const requestIds = new Set<string>(query.startsWith('pay_') ? [] : [query]);
  for (const { entry, ids } of described) {
    if (!ids.paymentIds.some((id) => paymentIds.has(id))) continue;
    const created = entry.record?.[API_REQUEST_ID_KEY];
    if (typeof created === 'string' && created !== '') requestIds.add(created);
  }
  const matching = described
    .filter(({ ids }) => ids.paymentIds.some((id) => paymentIds.has(id)) || ids.requestIds.some((id) => requestIds.has(id)))
    .map(({ entry }) => entry);
  return { paymentIds: [...paymentIds], requestIds: [...requestIds], entries: matching };
}

/** `OutboxRelay5EB66629` → `OutboxRelay` (CDK's hash suffix dropped). */
export function shortSource(source: string): string {
  return source.replace(/[0-9A-F]{8}$/, '');
}

const SHOWN_ELSEWHERE = new Set([
  'level', 'message', 'timestamp', 'service', 'sampling_rate', 'cold_start', 'function_arn', 'function_memory_size', 'function_name',
  'function_request_id', 'xray_trace_id', 'correlation_id', 'paymentId', API_REQUEST_ID_KEY,
]);

/** One entry as a line of text: time, function, level and message, then what else it says. */
export function formatEntry(entry: LogEntry): string {
  const source = shortSource(entry.source).padEnd(26);
  if (!entry.record) return `${' '.repeat(24)}  ${source} ${entry.text}`;
  const record = entry.record;
  const time = typeof record.timestamp === 'string' ? record.timestamp : '';
  const level = typeof record.level === 'string' ? record.level : '';
  const extras = Object.entries(record)
    .filter(([key]) => !SHOWN_ELSEWHERE.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  const requestId = typeof record[API_REQUEST_ID_KEY] === 'string' ? ` [${API_REQUEST_ID_KEY}=${record[API_REQUEST_ID_KEY]}]` : '';
  return `${time.padEnd(24)}  ${source} ${level.padEnd(5)} ${String(record.message ?? '')}${extras ? ` ${extras}` : ''}${requestId}`;
}
