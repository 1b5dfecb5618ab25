/**
 * The twin enforces IAM as synthesized: a template without a permission the flow needs breaks the flow with an
 * AccessDenied naming the role and the action (issue 9). The full check is `npm run iam:mutations`; here, one
 * mutation by hand and a seeded sample of one more.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { PAYFLOW_LOCAL, PAYFLOW_STACK_NAME } from '../../bin/payflow-local.ts';
import { flowFor, PAYMENT_AND_REFUND_FLOWS, SCENARIOS } from '../../tools/iam/flows.ts';
import { checkMutations, listMutations, mutatedAssembly, mutatedTemplate, sample, withoutTriggers } from '../../tools/iam/mutations.ts';
import { JUSTIFIED } from '../../tools/iam/report.ts';
import { startLocalStack } from '../../tools/local-runner/runner.ts';
import type { CfnTemplate } from '../../tools/local-runner/template.ts';

const template = () => JSON.parse(readFileSync(join(inject('cdkOut'), `${PAYFLOW_STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;

describe('IAM on the local twin (mutated templates)', () => {
  it('each compensation and failure scenario covers grants of the template, and its triggers remove exactly the grants they name', () => {
    const mutations = listMutations(template());
    for (const scenario of SCENARIOS) {
      expect(mutations.filter((mutation) => flowFor(mutation) === scenario).length, scenario.name).toBeGreaterThan(0);
      const remaining = listMutations(withoutTriggers(template(), scenario.triggers), { offPath: /^$/ });
      const removed = listMutations(template(), { offPath: /^$/ }).filter(
        (mutation) => !remaining.some((kept) => kept.role === mutation.role && kept.action === mutation.action && kept.resource === mutation.resource),
      );
      expect(removed.map(({ role, action }) => `${role} ${action}`).sort(), scenario.name).toEqual(
        removed.filter((mutation) => scenario.triggers.some((trigger) => trigger.role.test(mutation.role) && trigger.action === mutation.action)).map(({ role, action }) => `${role} ${action}`).sort(),
      );
      expect(removed.length, scenario.name).toBeGreaterThanOrEqual(scenario.triggers.length);
    }
    expect(flowFor({ role: 'SagaCaptureFunctionRole66B2000D', action: 'dynamodb:PutItem' })).toBe(PAYMENT_AND_REFUND_FLOWS);
  });

  it("without create-payment's dynamodb:PutItem, POST /payments answers 5xx and the function logs AccessDenied naming its role and the action", async () => {
    const mutation = listMutations(template()).find((candidate) => candidate.role.startsWith('ApiCreatePaymentFunctionRole') && candidate.action === 'dynamodb:PutItem');
    expect(mutation).toBeDefined();
    const cdkOut = mutatedAssembly(inject('cdkOut'), mutatedTemplate(template(), mutation!));
    const logs: string[] = [];
    const stack = await startLocalStack({ ...PAYFLOW_LOCAL, cdkOut, port: 0, timeScale: 0.02, functionLogs: (_fn, line) => logs.push(line) });
    try {
      const key = stack.apiKeys[0]!;
      const response = await fetch(new URL('payments', stack.apiUrl), {
        method: 'POST',
        headers: { 'x-api-key': key.value, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
        body: JSON.stringify({ amount: 1000, currency: 'EUR', source: 'tok_success' }),
      });
      expect(response.status).toBeGreaterThanOrEqual(500);
      const denial = logs.find((line) => line.includes('AccessDeniedException'));
      expect(denial).toMatch(/assumed-role\/Payflow-ApiCreatePaymentFunctionRole\w+\/\S+ is not authorized to perform: dynamodb:PutItem on resource: arn:aws:dynamodb:[^ ]+:table\//);
    } finally {
      await stack.stop();
      rmSync(cdkOut, { recursive: true, force: true });
    }
  }, 120_000);

  it('a seeded sample of the needed grants: each one removed breaks the payment and refund flows with an AccessDenied naming it', async () => {
    const needed = listMutations(template()).filter(
      (mutation) => !JUSTIFIED.some((reason) => reason.role.test(mutation.role) && (reason.action === '*' || reason.action === mutation.action)),
    );
    const results = await checkMutations(inject('cdkOut'), sample(needed, 1, 20261201));
    expect(results.map(({ role, action, detected, evidence }) => ({ role, action, detected, evidence: detected ? 'AccessDenied' : evidence }))).toEqual(
      results.map(({ role, action }) => ({ role, action, detected: true, evidence: 'AccessDenied' })),
    );
  }, 120_000);
});
