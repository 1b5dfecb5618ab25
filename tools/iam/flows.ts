/**
 * The flows the IAM mutation check and the access report run on the twin. The main one goes through the
 * payment and refund paths; the others reach a compensation or a failure path, which needs a step before it to
 * fail for good: their triggers remove the grant that step needs (IAM itself pushes the saga onto the path, so
 * nothing is injected into the code under test).
 */
import { randomUUID } from 'node:crypto';
import { PaymentsClient, PaymentsApiError, type Payment, type Refund } from '../../client/payments-client.ts';
import type { LocalStack } from '../local-runner/runner.ts';

/** Gives up early on a flow that is already known to be broken (an AccessDenied was answered, and a few seconds passed). */
export type GiveUp = () => string | undefined;

export interface FlowContext {
  client: PaymentsClient;
  stack: LocalStack;
  deadlineMs: number;
  giveUp: GiveUp;
}

/** A grant a scenario removes from the template to force its path: the role (logical id), the action, and where it is granted. */
export interface Trigger {
  role: RegExp;
  action: string;
  /** Matched against the statement's `Resource`, as JSON. */
  resource?: RegExp;
}

export interface Flow {
  name: string;
  /** The grants removed in every run of this flow (none for the main flows). */
  triggers: readonly Trigger[];
  run(context: FlowContext): Promise<void>;
}

/** A flow for the mutations it covers: (role logical id, action) pairs only this flow reaches. */
export interface Scenario extends Flow {
  covers: { role: RegExp; actions?: readonly string[] };
}

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, describe: (value: T | undefined) => string, { deadlineMs, giveUp }: FlowContext): Promise<T> {
  const until = Date.now() + deadlineMs;
  let last: T | undefined;
  while (Date.now() < until) {
    const reason = giveUp();
    if (reason) throw new Error(`${what} is ${describe(last)}: ${reason}`);
    last = await read();
    if (done(last)) return last;
    await sleep(200);
  }
  throw new Error(`${what} is ${describe(last)} after ${deadlineMs} ms`);
}

const paymentIn = (context: FlowContext, id: string, statuses: string[]) =>
  waitFor<Payment>(`payment ${id}`, () => context.client.getPayment(id), (payment) => statuses.includes(payment.status), (payment) => `${payment?.status ?? 'unknown'}, not ${statuses.join('|')}`, context);

const refundIn = (context: FlowContext, id: string, statuses: string[]) =>
  waitFor<Refund>(`refund ${id}`, () => context.client.getRefund(id), (refund) => statuses.includes(refund.status), (refund) => `${refund?.status ?? 'unknown'}, not ${statuses.join('|')}`, context);

/** The saga execution `name` ends FAILED in CompensationFailed: the case reached the saga-failures queue. */
const compensationFailed = (context: FlowContext, name: string) =>
  waitFor(
    `execution ${name}`,
    async () => context.stack.stepFunctions.listExecutions().find((execution) => execution.name === name),
    (execution) => execution !== undefined && execution.status !== 'RUNNING',
    (execution) => (execution ? `${execution.status} ${execution.error ?? ''}` : 'not started'),
    context,
  ).then((execution) => {
    if (execution?.error !== 'CompensationFailed') throw new Error(`execution ${name} ended ${execution?.status} ${execution?.error}: ${execution?.cause ?? ''}`);
  });

const pay = (client: PaymentsClient, source: string, amount: number) => client.createPayment({ amount, currency: 'EUR', source }, { idempotencyKey: randomUUID() });

/** A captured payment refunded in full, a declined one, one whose capture fails (void), a flaky and a timed-out processor, a refund the processor refuses. */
export const PAYMENT_AND_REFUND_FLOWS: Flow = {
  name: 'the payment and refund flows',
  triggers: [],
  async run(context) {
    const { client } = context;
    const paid = await pay(client, 'tok_success', 1250);
    const declined = await pay(client, 'tok_decline', 300);
    const voided = await pay(client, 'tok_capture_fail', 400);
    // Transient processor errors (its attempt counter) and a timeout after the work (the retry replays the record).
    const flaky = await pay(client, 'tok_flaky', 500);
    const timedOut = await pay(client, 'tok_timeout', 600);
    const refundRefused = await pay(client, 'tok_refund_fail', 700);
    await paymentIn(context, paid.id, ['succeeded']);
    await client.createRefund(paid.id, { amount: 1250 }, { idempotencyKey: randomUUID() });
    await paymentIn(context, paid.id, ['refunded']);
    await paymentIn(context, declined.id, ['failed']);
    await paymentIn(context, voided.id, ['failed']);
    await paymentIn(context, flaky.id, ['succeeded']);
    await paymentIn(context, timedOut.id, ['succeeded']);
    // The processor refuses the refund: ReleaseRefund makes the amount refundable again.
    await paymentIn(context, refundRefused.id, ['succeeded']);
    const refused = await client.createRefund(refundRefused.id, { amount: 700 }, { idempotencyKey: randomUUID() });
    await refundIn(context, refused.id, ['failed']);
    await paymentIn(context, refundRefused.id, ['succeeded']);
  },
};

const LEDGER_REFUSED: Trigger = { role: /^SagaPostLedgerFunctionRole/, action: 'dynamodb:PutItem' };

/** A request whose write is refused answers 5xx and is forgotten (Powertools deletes its idempotency record): the same key is tried again, not 409. */
async function forgottenAfterServerError(context: FlowContext, send: (idempotencyKey: string) => Promise<unknown>): Promise<void> {
  const key = randomUUID();
  for (const attempt of ['first', 'repeated']) {
    const status = await send(key).then(
      () => 200,
      (error: unknown) => (error instanceof PaymentsApiError ? error.status : 0),
    );
    if (status < 500) throw new Error(`the ${attempt} request with a refused write answered ${status}, not 5xx (a kept idempotency record answers 409)`);
  }
}

/** Flows for the grants the main flows do not reach. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'a ledger posting refused for good: the capture is refunded and the payment fails',
    covers: { role: /^SagaRefundCaptureFunctionRole/ },
    triggers: [LEDGER_REFUSED],
    async run(context) {
      const payment = await pay(context.client, 'tok_success', 800);
      await paymentIn(context, payment.id, ['failed']);
    },
  },
  {
    name: 'a payment compensation failed for good: the case goes to the saga-failures queue',
    covers: { role: /^SagaPaymentSagaRole/, actions: ['sqs:SendMessage'] },
    triggers: [LEDGER_REFUSED, { role: /^SagaRefundCaptureFunctionRole/, action: 'dynamodb:GetItem' }],
    async run(context) {
      const payment = await pay(context.client, 'tok_success', 900);
      await compensationFailed(context, `payment-${payment.id}`);
    },
  },
  {
    name: 'a refund compensation failed for good: the case goes to the saga-failures queue',
    covers: { role: /^SagaRefundSagaRole/, actions: ['sqs:SendMessage'] },
    triggers: [{ role: /^SagaReleaseRefundFunctionRole/, action: 'dynamodb:UpdateItem' }],
    async run(context) {
      const payment = await pay(context.client, 'tok_refund_fail', 950);
      await paymentIn(context, payment.id, ['succeeded']);
      const refund = await context.client.createRefund(payment.id, { amount: 950 }, { idempotencyKey: randomUUID() });
      await compensationFailed(context, `refund-${refund.id}`);
    },
  },
  {
    name: 'create-payment with its payment write refused: 5xx, and the key is forgotten',
    covers: { role: /^ApiCreatePaymentFunctionRole/, actions: ['dynamodb:DeleteItem'] },
    triggers: [{ role: /^ApiCreatePaymentFunctionRole/, action: 'dynamodb:PutItem', resource: /PaymentsTable/ }],
    run: (context) => forgottenAfterServerError(context, (idempotencyKey) => context.client.createPayment({ amount: 1000, currency: 'EUR', source: 'tok_success' }, { idempotencyKey })),
  },
  {
    name: 'create-refund with its refund write refused: 5xx, and the key is forgotten',
    covers: { role: /^ApiCreateRefundFunctionRole/, actions: ['dynamodb:DeleteItem'] },
    triggers: [{ role: /^ApiCreateRefundFunctionRole/, action: 'dynamodb:PutItem', resource: /PaymentsTable/ }],
    async run(context) {
      const payment = await pay(context.client, 'tok_success', 1100);
      await paymentIn(context, payment.id, ['succeeded']);
      await forgottenAfterServerError(context, (idempotencyKey) => context.client.createRefund(payment.id, { amount: 100 }, { idempotencyKey }));
    },
  },
];

/** The flow that checks a mutation of `role`'s `action`. */
export function flowFor(mutation: { role: string; action: string }): Flow {
  return SCENARIOS.find(({ covers }) => covers.role.test(mutation.role) && (!covers.actions || covers.actions.includes(mutation.action))) ?? PAYMENT_AND_REFUND_FLOWS;
}
