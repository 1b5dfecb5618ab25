import type { TestProject } from 'vitest/node';
import { startSqsEmulator } from '../../tools/local-runner/sqs/emulator.ts';
import { PAYFLOW_APP } from '../../bin/payflow-local.ts';
import { synthesize } from '../../tools/local-runner/synthesize.ts';
import { startDynamoDbLocal } from '../../tools/local-runner/dynamodb/dynamodb-local.ts';
import { mkdtempSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * Once per `vitest run`: synthesizes the CDK app (tests read tables, the state machine definitions and
 * the bundled Lambda assets from it) and starts the real local emulators every integration test uses.
 */
export default async function setup(project: TestProject) {
  const cdkOut = mkdtempSync(resolve('cdk.out.test-'));
  await synthesize({ ...PAYFLOW_APP, outdir: cdkOut, context: { 'payflow:dev': true } });
  project.provide('cdkOut', cdkOut);
  const [dynamodbLocal, fauxqs] = await Promise.all([
    startDynamoDbLocal(),
    startSqsEmulator({ port: 0, logger: false }),
  ]);
  project.provide('dynamodbEndpoint', dynamodbLocal.endpoint);
  project.provide('sqsEndpoint', fauxqs.address);
  return async () => {
    await Promise.all([dynamodbLocal.stop(), fauxqs.stop()]);
    rmSync(cdkOut, { recursive: true, force: true });
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
    cdkOut: string;
  }
}
