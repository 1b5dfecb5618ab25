import { join } from 'node:path';
import { inject } from 'vitest';

/** The cloud assembly the global setup synthesized for this run (one per run, so parallel runs never share one). */
export const testCdkOut = (): string => inject('cdkOut');
export const testTemplatePath = (): string => join(testCdkOut(), 'Payflow.template.json');
