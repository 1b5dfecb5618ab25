/**
 * The console page: plain DOM, hash routes (#/payments, #/payments/<id>, #/queues, #/health, #/stack),
 * polling the console server's JSON API. Every status is written out in words and marked with a symbol,
 * so nothing depends on colour; every control is reachable by keyboard.
 */

type Json = any;
type Child = Node | string | number | null | undefined | false;

function h(tag: string, attributes: Record<string, string | number | boolean | undefined | ((event: Event) => void)> = {}, ...children: Array<Child | Child[]>): HTMLElement {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'style') element.style.cssText = String(value); // CSSOM: allowed by the page's CSP, unlike a style attribute
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) if (child !== null && child !== undefined && child !== false) element.append(child instanceof Node ? child : String(child));
  return element;
}

const SVG = 'http://www.w3.org/2000/svg';
function s(tag: string, attributes: Record<string, string | number> = {}, ...children: Array<Node | string>): SVGElement {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

async function api(path: string, init?: RequestInit): Promise<Json> {
  const response = await fetch(path, init);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error ?? `HTTP ${response.status}`);
  return body;
}

const SYMBOL: Record<string, string> = {
  pending: '… pending',
  processing: '⟳ processing',
  succeeded: '✓ succeeded',
  failed: '✗ failed',
  partially_refunded: '◐ partially refunded',
  refunded: '↩ refunded',
  RUNNING: '⟳ RUNNING',
  SUCCEEDED: '✓ SUCCEEDED',
  FAILED: '✗ FAILED',
  TIMED_OUT: '✗ TIMED_OUT',
  ABORTED: '✗ ABORTED',
};
const statusBadge = (value: string) => h('span', { class: `status status-${value}`, 'data-status': value }, SYMBOL[value] ?? value);
const money = (amount: number, currency: string) => `${(amount / 100).toFixed(2)} ${currency}`;
const clock = (ms: number | string | undefined) => (ms === undefined || ms === '' ? '' : new Date(ms).toISOString().slice(11, 23));
const duration = (ms: number | undefined) => (ms === undefined ? '—' : ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`);
const age = (ms: number) => (ms < 120_000 ? duration(ms) : `${Math.floor(ms / 60_000)} min`);

let stack: Json;
let timer: number | undefined;
let generation = 0;
const main = document.getElementById('main')!;
const state = { status: '', merchant: '', token: '' };

function schedule(refresh: () => Promise<void>, everyMs: number) {
  const mine = generation;
  const loop = async () => {
    if (mine !== generation) return;
    try {
      await refresh();
      document.getElementById('updated')!.textContent = ` · updated ${clock(Date.now())} UTC`;
    } catch (error) {
      document.getElementById('updated')!.textContent = ` · could not refresh: ${(error as Error).message}`;
    }
    if (mine === generation) timer = window.setTimeout(loop, everyMs);
  };
  void loop();
}

function route() {
  generation += 1;
  if (timer) window.clearTimeout(timer);
  const hash = location.hash || '#/payments';
  const [, view = 'payments', id] = hash.split('/');
  for (const link of document.querySelectorAll('nav a')) {
    if ((link as HTMLElement).dataset.view === view) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  main.replaceChildren();
  if (view === 'payments' && id) paymentView(decodeURIComponent(id));
  else if (view === 'queues') queuesView();
  else if (view === 'health') healthView();
  else if (view === 'stack') stackView();
  else paymentsView();
}

// ------------------------------------------------------------------ payments

function paymentsView() {
  document.title = 'Payments · Payflow console';
  const tokens = ['tok_success', 'tok_decline', 'tok_insufficient_funds', 'tok_capture_fail', 'tok_refund_fail', 'tok_flaky', 'tok_timeout'];
  const statuses = ['pending', 'processing', 'succeeded', 'failed', 'partially_refunded', 'refunded'];
  const select = (name: keyof typeof state, label: string, options: Array<[string, string]>) =>
    h('label', {}, label, h('select', { id: `filter-${name}`, name, onchange: (event: Event) => { state[name] = (event.target as HTMLSelectElement).value; route(); } },
      h('option', { value: '' }, 'any'), ...options.map(([value, text]) => h('option', { value, selected: state[name] === value }, text))));
  const summary = h('p', { id: 'payments-summary', class: 'muted', 'aria-live': 'polite' });
  const body = h('tbody');
  main.append(
    h('h2', {}, 'Payments'),
    h('div', { class: 'filters', role: 'search' },
      select('status', 'Status', statuses.map((value) => [value, SYMBOL[value]!])),
      select('merchant', 'Merchant', stack.merchants.map((merchant: Json) => [merchant.name, merchant.name])),
      select('token', 'Token', tokens.map((token) => [token, token]))),
    summary,
    h('table', { id: 'payments', 'aria-describedby': 'payments-summary' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Payment'), h('th', {}, 'Created (UTC)'), h('th', {}, 'Merchant'), h('th', { class: 'num' }, 'Amount'), h('th', {}, 'Token'), h('th', {}, 'Status'), h('th', { class: 'num' }, 'Time to terminal'))),
      body),
  );
  schedule(async () => {
    const query = new URLSearchParams(Object.entries(state).filter(([, value]) => value));
    const data = await api(`/api/payments?${query}`);
    const focused = (document.activeElement as HTMLElement | null)?.dataset.paymentId;
    body.replaceChildren(...data.payments.map((payment: Json) =>
      h('tr', { 'data-payment-id': payment.id, 'data-status': payment.status },
        h('td', {}, h('a', { href: `#/payments/${payment.id}`, class: 'mono', 'data-payment-id': payment.id }, payment.id)),
        h('td', { class: 'mono' }, clock(payment.createdAt)),
        h('td', {}, payment.merchant),
        h('td', { class: 'num' }, money(payment.amount, payment.currency)),
        h('td', { class: 'mono' }, payment.source),
        h('td', {}, statusBadge(payment.status), payment.failureCode ? h('span', { class: 'muted' }, ` (${payment.failureCode})`) : null),
        h('td', { class: 'num' }, duration(payment.timeToTerminalMs)))));
    if (data.payments.length === 0) body.append(h('tr', {}, h('td', { colspan: 7, class: 'muted' }, 'No payments yet. Create one with the README\'s curl.')));
    if (focused) (body.querySelector(`a[data-payment-id="${focused}"]`) as HTMLElement | null)?.focus();
    const counts = Object.entries(data.statuses as Record<string, number>).map(([name, count]) => `${count} ${name}`).join(', ');
    summary.textContent = `${data.payments.length} shown, newest first${data.truncated ? ' (truncated)' : ''} · all: ${counts || 'none'}`;
  }, 1000);
}

// ------------------------------------------------------------------ one payment

function paymentView(id: string) {
  document.title = `${id} · Payflow console`;
  const container = h('div', { id: 'journey' });
  main.append(h('p', {}, h('a', { href: '#/payments' }, '← all payments')), h('h2', {}, 'Payment ', h('code', {}, id)), container);
  schedule(async () => {
    let data: Json;
    try {
      data = await api(`/api/payments/${encodeURIComponent(id)}`);
    } catch (error) {
      container.replaceChildren(h('p', { class: 'error-box' }, (error as Error).message));
      return;
    }
    const p = data.payment;
    const refundTotal = data.refunds.reduce((sum: number, refund: Json) => sum + (refund.status === 'succeeded' ? refund.amount : 0), 0);
    container.replaceChildren(
      h('dl', { class: 'grid', id: 'payment-summary' },
        h('div', {}, h('dt', { class: 'muted' }, 'Status'), h('dd', { id: 'payment-status' }, statusBadge(p.status), p.failureCode ? ` (${p.failureCode})` : '')),
        h('div', {}, h('dt', { class: 'muted' }, 'Amount'), h('dd', {}, `${money(p.amount, p.currency)} · captured ${money(p.amountCaptured ?? 0, p.currency)} · refunded ${money(refundTotal, p.currency)}`)),
        h('div', {}, h('dt', { class: 'muted' }, 'Merchant · token'), h('dd', {}, `${p.merchant} · `, h('code', {}, p.source))),
        h('div', {}, h('dt', { class: 'muted' }, 'Request id (x-amzn-RequestId)'), h('dd', { id: 'payment-request-id' }, p.requestId ? h('code', {}, p.requestId) : 'not stored')),
        h('div', {}, h('dt', { class: 'muted' }, 'Created → terminal'), h('dd', {}, `${clock(p.createdAt)} UTC → ${p.terminalAt ? `${clock(p.terminalAt)} (${duration(p.timeToTerminalMs)})` : 'not yet'}`))),
      h('div', { class: 'journey' }, h('section', {}, h('h3', {}, 'Journey'),
      h('ol', { class: 'timeline', id: 'timeline' }, ...data.timeline.map((step: Json, index: number) =>
        h('li', { class: step.flag ? `flag-${step.flag}` : undefined, 'data-kind': step.kind, 'data-step': index + 1 },
          h('span', { class: 'when' }, clock(step.at)),
          h('span', { class: 'kind' }, step.kind),
          step.flag === 'error' ? h('span', { class: 'mark' }, '✗ ') : step.flag === 'retry' ? h('span', { class: 'mark' }, '↻ ') : null,
          h('span', { class: 'title' }, step.title),
          step.requestId ? h('span', { class: 'detail' }, 'request id ', h('code', { class: 'request-id', 'data-request-id': step.requestId }, step.requestId)) : null,
          step.detail ? h('span', { class: 'detail' }, step.detail) : null))),
      data.outboxNote ? h('p', { class: 'muted' }, data.outboxNote) : ''),
      h('section', {}, h('h3', {}, 'Sagas'), ...data.executions.filter(Boolean).map(executionSection))),
      h('div', { class: 'grid' },
        h('section', {}, h('h3', {}, 'Processor calls'), table(['Operation', 'Outcome', 'Idempotency key', 'At'], data.processorCalls.map((call: Json) => [call.operation, `${call.outcome === 'succeeded' ? '✓' : '✗'} ${call.outcome}${call.failureCode ? ` (${call.failureCode})` : ''}`, h('code', {}, call.key), clock(call.createdAt)]), 'processor-calls')),
        h('section', {}, h('h3', {}, 'Ledger postings'), ledger(data.postings)),
        h('section', {}, h('h3', {}, 'Refunds'), table(['Refund', 'Amount', 'Status', 'Created'], data.refunds.map((refund: Json) => [h('code', {}, refund.id), money(refund.amount, p.currency), statusBadge(refund.status), clock(refund.createdAt)]), 'refunds'))),
      webhookSection(data.webhooks, data.webhooksNote),
    );
  }, 1500);
}

const DELIVERY: Record<string, string> = { delivered: '✓ delivered', in_progress: '… in progress', given_up: '✗ given up', not_sent: '— not sent', unknown: '? not recorded' };

function webhookSection(webhooks: Json, note: string | undefined) {
  const section = h('section', { id: 'webhooks' }, h('h3', {}, 'Webhook deliveries'));
  if (!webhooks) {
    section.append(h('p', { class: 'muted' }, note ?? 'Not available.'));
    return section;
  }
  const rows = webhooks.deliveries.map((delivery: Json) => [
    h('span', {}, delivery.eventType, h('br'), h('code', { class: 'muted' }, delivery.eventId)),
    h('code', {}, delivery.url),
    h('strong', { class: delivery.state === 'given_up' ? 'bad' : delivery.state === 'delivered' ? 'ok' : undefined, 'data-delivery-state': delivery.state }, DELIVERY[delivery.state] ?? delivery.state),
    delivery.attempts ?? 'not stored',
    delivery.firstAttemptAt ? clock(delivery.firstAttemptAt) : '—',
    delivery.lastAttemptAt ? clock(delivery.lastAttemptAt) : '—',
    delivery.lastStatus !== undefined ? `HTTP ${delivery.lastStatus}` : delivery.lastError ?? '—',
    delivery.state === 'given_up' ? 'none: retry window over' : delivery.state === 'in_progress' ? 'in the delivery queue (not read)' : '—',
  ]);
  section.append(
    webhooks.endpoints.length === 0
      ? h('p', { class: 'muted' }, `The merchant has no webhook endpoint: ${webhooks.events.length} event(s) recorded, none delivered.`)
      : table(['Event', 'Endpoint', 'Final state', 'Attempts', 'First attempt', 'Last attempt', 'Last status or error', 'Next retry'], rows, 'webhook-deliveries'),
    ...(webhooks.endpoints.length === 0 ? [] : [h('p', { class: 'muted' }, 'Endpoints: ', ...webhooks.endpoints.flatMap((endpoint: Json, index: number) => [
      index > 0 ? ' · ' : '', h('code', {}, endpoint.url), ` ${endpoint.status === 'enabled' ? '✓ enabled' : `✗ ${endpoint.status}${endpoint.disabledReason ? ` (${endpoint.disabledReason})` : ''}`}`,
    ]))]),
    h('p', { class: 'muted', id: 'webhooks-note' }, webhooks.note, webhooks.truncated ? ' (events truncated: too many in the span queried)' : ''),
  );
  return section;
}

function table(headers: string[], rows: Child[][], id?: string) {
  if (rows.length === 0) return h('p', { class: 'muted', id }, 'None.');
  return h('table', { id }, h('thead', {}, h('tr', {}, ...headers.map((header) => h('th', {}, header)))), h('tbody', {}, ...rows.map((row) => h('tr', {}, ...row.map((cell) => h('td', {}, cell))))));
}

function ledger(postings: Json[]) {
  if (postings.length === 0) return h('p', { class: 'muted', id: 'ledger' }, 'No posting yet.');
  return h('table', { id: 'ledger' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Posting'), h('th', {}, 'Account'), h('th', { class: 'num' }, 'Debit'), h('th', { class: 'num' }, 'Credit'))),
    h('tbody', {}, ...postings.flatMap((posting) => [
      ...posting.lines.map((line: Json, index: number) => h('tr', {},
        h('td', {}, index === 0 ? `${posting.kind} (${clock(posting.createdAt)})` : ''),
        h('td', { class: 'mono' }, line.account),
        h('td', { class: 'num' }, line.debit ? money(line.debit, posting.currency) : ''),
        h('td', { class: 'num' }, line.credit ? money(line.credit, posting.currency) : ''))),
      h('tr', {}, h('td', {}), h('td', { class: 'muted' }, posting.balanced ? '= balanced (debits = credits)' : '≠ NOT BALANCED'), h('td'), h('td')),
    ])));
}

// ------------------------------------------------------------------ a saga execution as its state graph

function executionSection(execution: Json) {
  const section = h('section', { class: 'card', 'data-execution': execution.name },
    h('h3', {}, `Saga ${execution.name} `, statusBadge(execution.status)),
    execution.error ? h('p', { class: 'error-box' }, `✗ ${execution.error}: ${execution.cause ?? ''}`) : null,
    execution.note ? h('p', { class: 'muted' }, execution.note) : null);
  if (execution.graph) section.append(graphSvg(execution.graph, execution.visits));
  section.append(h('ol', { class: 'path', 'aria-label': `Path taken by ${execution.name}` }, ...execution.visits.map((visit: Json) =>
    h('li', { 'data-state': visit.name },
      `${visit.name}`,
      visit.retries > 0 ? ` — ↻ retried ${visit.retries}×` : '',
      visit.failed ? ' — ✗ failed' : '',
      visit.failures.length > 0 ? h('span', { class: 'muted' }, ` (${visit.failures.map((failure: Json) => failure.error).join(', ')})`) : null))));
  return section;
}

function graphSvg(graph: Json, visits: Json[]) {
  const byName = new Map<string, Json>(graph.states.map((node: Json) => [node.name, node]));
  // Layers: longest distance from StartAt over the definition's edges (the sagas' graphs have no cycles).
  const layer = new Map<string, number>();
  const visit = (name: string, depth: number, trail: Set<string>) => {
    if (!byName.has(name) || trail.has(name) || (layer.get(name) ?? -1) >= depth) return;
    layer.set(name, depth);
    trail.add(name);
    for (const edge of byName.get(name).next) visit(edge.to, depth + 1, trail);
    trail.delete(name);
  };
  visit(graph.startAt, 0, new Set());
  for (const node of graph.states) if (!layer.has(node.name)) layer.set(node.name, 0);
  const rows: string[][] = [];
  for (const [name, depth] of layer) (rows[depth] ??= []).push(name);
  const W = 170, H = 40, GX = 20, GY = 26;
  const width = Math.max(...rows.map((row) => row.length)) * (W + GX) + GX;
  const position = new Map<string, { x: number; y: number }>();
  rows.forEach((row, depth) => row.forEach((name, index) => {
    const offset = (width - row.length * (W + GX) + GX) / 2;
    position.set(name, { x: offset + index * (W + GX), y: GY / 2 + depth * (H + GY) });
  }));
  const order = new Map<string, number[]>();
  visits.forEach((entry: Json, index: number) => order.set(entry.name, [...(order.get(entry.name) ?? []), index + 1]));
  const taken = new Set(visits.slice(1).map((entry: Json, index: number) => `${visits[index].name}→${entry.name}`));
  const svg = s('svg', { class: 'graph', viewBox: `0 0 ${width} ${rows.length * (H + GY) + GY / 2}`, role: 'img', 'aria-label': `State graph; path taken: ${visits.map((entry: Json) => entry.name).join(' → ') || 'none yet'}` });
  svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: 'currentColor' }))));
  for (const node of graph.states) {
    const from = position.get(node.name)!;
    for (const edge of node.next) {
      const to = position.get(edge.to);
      if (!to) continue;
      const x1 = from.x + W / 2, y1 = from.y + H, x2 = to.x + W / 2, y2 = to.y;
      const isTaken = taken.has(`${node.name}→${edge.to}`);
      const path = s('path', { class: `edge ${edge.kind}${isTaken ? ' taken' : ''}`, d: y2 > y1 ? `M${x1},${y1} C${x1},${y1 + GY / 2} ${x2},${y2 - GY / 2} ${x2},${y2}` : `M${x1},${y1} C${x1 + W},${y1 + GY} ${x2 + W},${y2 - GY} ${x2},${y2}`, 'marker-end': 'url(#arrow)' });
      path.append(s('title', {}, `${node.name} → ${edge.to} (${edge.kind})${isTaken ? ', taken' : ''}`));
      svg.append(path);
    }
  }
  for (const node of graph.states) {
    const { x, y } = position.get(node.name)!;
    const visitsHere = visits.filter((entry: Json) => entry.name === node.name);
    const failed = visitsHere.some((entry: Json) => entry.failed);
    const retried = visitsHere.reduce((sum: number, entry: Json) => sum + entry.retries, 0);
    const steps = order.get(node.name);
    const marks = `${steps ? `#${steps.join(',')}` : ''}${retried ? ` ↻${retried}` : ''}${failed ? ' ✗' : ''}${steps && !failed ? ' ✓' : ''}`;
    const group = s('g', { class: `node${steps ? ' visited' : ''}${failed ? ' failed' : ''}${retried ? ' retried' : ''}`, 'data-state': node.name },
      s('rect', { x, y, width: W, height: H, rx: node.type === 'Choice' ? 18 : 4 }),
      s('text', { x: x + 8, y: y + 17 }, node.name.length > 24 ? `${node.name.slice(0, 23)}…` : node.name),
      s('text', { x: x + 8, y: y + 32, class: 'small' }, `${node.type}${node.retries ? ' · retries' : ''}${marks ? ` · ${marks}` : ''}`),
      s('title', {}, `${node.name} (${node.type})${steps ? `: step ${steps.join(', ')}` : ': not taken'}${retried ? `, retried ${retried}×` : ''}${failed ? ', failed' : ''}${node.comment ? ` — ${node.comment}` : ''}`));
    svg.append(group);
  }
  return h('figure', {}, svg, h('figcaption', { class: 'muted' }, 'Bold boxes and arrows: the path taken (#n = step); ↻ retried; ✗ failed there; dashed arrows: Catch.'));
}

// ------------------------------------------------------------------ queues and dead letters

const SPARK = '▁▂▃▄▅▆▇█';
function sparkline(values: number[]) {
  const max = Math.max(1, ...values);
  return values.map((value) => (value === 0 ? '·' : SPARK[Math.min(SPARK.length - 1, Math.ceil((value / max) * SPARK.length) - 1)])).join('');
}

function queuesView() {
  document.title = 'Queues · Payflow console';
  const queues = h('div');
  const dead = h('div', { id: 'dead-letters' });
  main.append(h('h2', {}, 'Queues'), queues, h('h2', {}, 'Dead letters'), dead);
  schedule(async () => {
    const [{ queues: list, history }, { deadLetters, allowActions }] = await Promise.all([api('/api/queues'), api('/api/dead-letters')]);
    queues.replaceChildren(table(['Queue', 'Kind', 'Visible', 'In flight', 'Delayed', 'Depth, last samples (oldest → newest)'], list.map((queue: Json) => [
      h('span', {}, queue.label, h('br'), h('code', { class: 'muted' }, queue.name)),
      queue.deadLetter ? 'dead-letter' : queue.redrive ? `redrives to ${list.find((other: Json) => other.arn === queue.redrive.deadLetterTargetArn)?.label ?? 'a DLQ'} after ${queue.redrive.maxReceiveCount} receives` : 'queue',
      queue.deadLetter && queue.visible > 0 ? h('strong', {}, `⚠ ${queue.visible}`) : queue.visible,
      queue.inFlight,
      queue.delayed,
      h('span', { class: 'spark', 'aria-label': `depth samples: ${history.slice(-30).map((sample: Json) => sample.depths[queue.label] ?? 0).join(', ')}` }, sparkline(history.slice(-30).map((sample: Json) => sample.depths[queue.label] ?? 0))),
    ]), 'queues'));
    dead.replaceChildren(...deadLetters.map((queue: Json) => h('section', { class: 'card', 'data-queue': queue.label },
      h('h3', {}, `${queue.label} — ${queue.depth === 0 ? '✓ empty' : `⚠ ${queue.depth} message(s)`}`),
      queue.messages.length === 0 ? null : h('ol', {}, ...queue.messages.map((message: Json) => h('li', { 'data-message-id': message.messageId },
        h('p', {}, h('strong', {}, 'Why: '), h('span', { class: 'reason' }, message.reason)),
        h('p', { class: 'muted' }, `message ${message.messageId} · sent ${clock(message.sentAt)} UTC · received ${message.receiveCount}×${message.groupId ? ` · group ${message.groupId}` : ''}`),
        h('pre', {}, message.body),
        allowActions && queue.redrivable ? h('button', { type: 'button', onclick: (event: Event) => redrive(event, queue.label, message.messageId) }, 'Redrive to its source queue') : null))))));
  }, 3000);
}

async function redrive(event: Event, queue: string, messageId: string) {
  const button = event.target as HTMLButtonElement;
  button.disabled = true;
  try {
    const result = await api('/api/dead-letters/redrive', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-Payflow-Console': '1' }, body: JSON.stringify({ queue, messageId }) });
    button.replaceWith(h('span', { role: 'status' }, `Redriven to ${result.redrivenTo}`));
  } catch (error) {
    button.disabled = false;
    button.after(h('span', { role: 'alert', class: 'bad' }, ` ✗ ${(error as Error).message}`));
  }
}

// ------------------------------------------------------------------ health

function healthView() {
  document.title = 'Health · Payflow console';
  const alarms = h('div', { id: 'alarms' });
  const breaker = h('div', { id: 'breaker' });
  const report = h('div', { id: 'daily-report' });
  const throughput = h('div', { id: 'throughput' });
  main.append(
    h('h2', {}, 'Alarms that would be firing'), alarms,
    h('h2', {}, 'Processor circuit breaker'), breaker,
    h('h2', {}, 'Last daily reconciliation'), report,
    h('h2', {}, 'Throughput and time to terminal, last 15 minutes'), throughput,
  );
  const POSITION: Record<string, string> = { closed: '✓ closed', 'half-open': '◐ half-open', open: '⚠ open' };
  schedule(async () => {
    const data = await api('/api/health');
    const b = data.breaker;
    breaker.replaceChildren(!b
      ? h('p', { class: 'muted' }, 'The stack has no CircuitBreakerTableName output.')
      : h('dl', { class: 'grid', id: 'breaker-state', 'data-position': b.position },
        h('div', {}, h('dt', { class: 'muted' }, 'Position'), h('dd', {}, h('strong', { class: b.position === 'closed' ? 'ok' : 'bad' }, POSITION[b.position] ?? b.position))),
        h('div', {}, h('dt', { class: 'muted' }, 'Generation'), h('dd', {}, String(b.generation))),
        h('div', {}, h('dt', { class: 'muted' }, 'Open until (UTC)'), h('dd', {}, b.openedUntil ? `${clock(b.openedUntil)}${b.probeUntil ? ` · probe leased until ${clock(b.probeUntil)}` : ''}` : '—')),
        h('div', {}, h('dt', { class: 'muted' }, 'Transient failures, latest window'), h('dd', {}, `${b.failuresInLatestWindow}${b.latestWindowStart ? ` (window from ${clock(b.latestWindowStart)})` : ''}`)),
        h('div', {}, h('dt', { class: 'muted' }, 'Table'), h('dd', {}, h('code', {}, b.tableName)))));
    report.replaceChildren(...dailyReport(data.dailyReport, data.dailyReportNote));
    alarms.replaceChildren(table(['State', 'Alarm', 'Detail'], data.alarms.map((alarm: Json) => [h('strong', { class: alarm.firing ? 'bad' : 'ok' }, alarm.firing ? '⚠ FIRING' : '✓ OK'), alarm.name, alarm.detail]), 'alarm-table'));
    const max = Math.max(1, ...data.buckets.map((bucket: Json) => bucket.created));
    throughput.replaceChildren(
      h('p', { class: 'muted', id: 'open-items' }, `${data.total} payments, ${data.open} not terminal yet · ${data.openRefunds} refund(s) not terminal${data.oldestOpenRefundAgeMs !== undefined ? `, the oldest for ${age(data.oldestOpenRefundAgeMs)}` : ''}.`),
      table(['Minute (UTC)', 'Created', '', 'Terminal', 'p50 to terminal', 'p95 to terminal'], data.buckets.map((bucket: Json) => [
        clock(bucket.start).slice(0, 5), bucket.created, h('span', { class: 'bar', style: `width:${(bucket.created / max) * 12}rem`, 'aria-hidden': 'true' }), bucket.terminal, duration(bucket.p50Ms), duration(bucket.p95Ms),
      ]), 'throughput-table'));
  }, 3000);
}

function dailyReport(view: Json, note: string | undefined): HTMLElement[] {
  if (!view) return [h('p', { class: 'muted' }, note ?? 'The stack has no DailyReportsTableName output.')];
  const r = view.report;
  if (!r || !r.counts) return [h('p', { id: 'daily-report-none' }, 'No daily reconciliation report yet: the daily run has not happened (it covers the day before, once a day).')];
  const c = r.counts;
  const kinds = Object.entries(c.discrepancies as Record<string, number>).filter(([, count]) => count > 0);
  return [
    h('dl', { class: 'grid', id: 'daily-report-summary', 'data-day': r.day },
      h('div', {}, h('dt', { class: 'muted' }, 'Day reconciled (UTC)'), h('dd', { id: 'daily-report-day' }, r.day, view.days > 1 ? h('span', { class: 'muted' }, ` (the newest of ${view.days} days with a report)`) : null)),
      h('div', {}, h('dt', { class: 'muted' }, 'Ran at'), h('dd', { id: 'daily-report-ran' }, r.lastRunAt ? `${r.lastRunAt.replace('T', ' ').slice(0, 19)} UTC` : '—')),
      h('div', {}, h('dt', { class: 'muted' }, 'Mismatches'), h('dd', { id: 'daily-report-mismatches' },
        h('strong', { class: r.discrepancies > 0 ? 'bad' : 'ok' }, r.discrepancies > 0 ? `⚠ ${r.discrepancies} discrepancy(ies)` : '✓ none'),
        kinds.length > 0 ? ` — ${kinds.map(([kind, count]) => `${kind} ${count}`).join(', ')}` : ''))),
    table(['Processor captures', 'Ledger postings', 'Matched', 'In flight', 'Recovered', 'Discrepancies'], [[c.processorCaptures, c.ledgerPostings, c.matched, c.inFlight, c.recovered, r.discrepancies]], 'daily-report-counts'),
    r.findings.length === 0
      ? h('p', { class: 'muted' }, 'No finding.')
      : table(['Finding', 'Payment', 'Detail', 'Found'], r.findings.map((finding: Json) => [
        `${finding.kind === 'recovered' ? '↻' : '⚠'} ${finding.kind}`, h('code', {}, finding.paymentId), `${finding.detail}${finding.paymentStatus ? ` [payment ${finding.paymentStatus}]` : ''}`, clock(finding.foundAt),
      ]), 'daily-report-findings'),
  ];
}

// ------------------------------------------------------------------ stack

function stackView() {
  document.title = 'Stack · Payflow console';
  main.append(
    h('h2', {}, `Stack ${stack.stackName}`),
    h('p', {}, `Target: ${stack.target === 'local' ? 'the local twin (npm start)' : 'AWS'} · region ${stack.region} · ${stack.allowActions ? 'actions allowed' : 'read-only'}. API key values and other secrets are never shown.`),
    table(['Output', 'Value'], Object.entries(stack.outputs).map(([name, value]) => [name, h('code', {}, String(value))]), 'outputs'),
  );
}

// ------------------------------------------------------------------ keyboard

document.addEventListener('keydown', (event) => {
  const target = event.target as HTMLElement;
  if (event.altKey || event.ctrlKey || event.metaKey || ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName)) return;
  const views: Record<string, string> = { '1': '#/payments', '2': '#/queues', '3': '#/health', '4': '#/stack' };
  if (views[event.key]) {
    location.hash = views[event.key]!;
  } else if (event.key === '/') {
    event.preventDefault();
    (document.getElementById('filter-status') as HTMLElement | null)?.focus();
  } else if (event.key === 'Escape' && location.hash.startsWith('#/payments/')) {
    location.hash = '#/payments';
  } else if (event.key === 'j' || event.key === 'k') {
    const links = [...document.querySelectorAll<HTMLElement>('#payments a[data-payment-id]')];
    if (links.length === 0) return;
    const index = links.indexOf(document.activeElement as HTMLElement);
    const next = index < 0 ? 0 : Math.max(0, Math.min(links.length - 1, index + (event.key === 'j' ? 1 : -1)));
    for (const row of document.querySelectorAll('#payments tr.selected')) row.classList.remove('selected');
    links[next]!.focus();
    links[next]!.closest('tr')?.classList.add('selected');
  }
});

window.addEventListener('hashchange', () => {
  route();
  main.focus({ preventScroll: true });
});

void (async () => {
  try {
    stack = await api('/api/stack');
    document.getElementById('mode')!.textContent = `${stack.stackName} · ${stack.target === 'local' ? 'local twin' : `AWS ${stack.region}`} · ${stack.allowActions ? 'actions allowed' : 'read-only'}`;
    route();
  } catch (error) {
    main.replaceChildren(h('p', { class: 'error-box' }, `The console server did not answer: ${(error as Error).message}`));
  }
})();
