import { resolve } from 'node:path';

export const TEST_CDK_OUT = resolve(import.meta.dirname, '../../cdk.out.test');
export const TEST_TEMPLATE = resolve(TEST_CDK_OUT, 'Payflow.template.json');
