import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { PayflowStack } from './payflow-stack.ts';

export const STACK_NAME = 'Payflow';

/** Builds the CDK app; `bin/app.ts` synthesizes it for the CLI, tests and the local runner call it directly. */
export function buildApp(options: { outdir?: string; context?: Record<string, unknown> } = {}): { app: App; stack: PayflowStack } {
  const app = new App({
    outdir: options.outdir,
    // The CLI sets this; tests and the local runner read each function's bundle path from it.
    context: { 'aws:cdk:enable-asset-metadata': true, ...options.context },
  });
  // Environment-agnostic (no env): the stack does no lookups, so one template deploys to any account and
  // region (and to LocalStack), and ARNs stay `AWS::Region`/`AWS::AccountId` references.
  const stack = new PayflowStack(app, STACK_NAME, {
    description: 'Payflow: idempotent payments API, outbox and saga',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
