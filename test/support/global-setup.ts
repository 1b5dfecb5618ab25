import type { TestProject } from 'vitest/node';
import { startFauxqs } from 'fauxqs';
import { buildApp } from '../../lib/app.ts';
import { startDynamoDbLocal } from '../../lib/local/dynamodb-local.ts';
import { TEST_CDK_OUT } from './paths.ts';

/**
 * Once per `vitest run`: synthesizes the CDK app (tests read tables, the state machine definitions and
 * the bundled Lambda assets from it) and starts the real local emulators every integration test uses.
 */
export default async function setup(project: TestProject) {
  buildApp({ outdir: TEST_CDK_OUT, context: { 'payflow:dev': true } }).app.synth();
  const [dynamodbLocal, fauxqs] = await Promise.all([
    startDynamoDbLocal(),
    startFauxqs({ port: 0, logger: false }),
  ]);
  project.provide('dynamodbEndpoint', dynamodbLocal.endpoint);
  project.provide('sqsEndpoint', fauxqs.address);
  return async () => {
    await Promise.all([dynamodbLocal.stop(), fauxqs.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    dynamodbEndpoint: string;
    sqsEndpoint: string;
  }
}
