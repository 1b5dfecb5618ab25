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
  const stack = new PayflowStack(app, STACK_NAME, {
    env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
    description: 'Payflow: idempotent payments API, outbox and saga',
  });
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return { app, stack };
}
