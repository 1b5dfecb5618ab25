import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PAYFLOW_STACK_NAME } from '../../bin/payflow-local.ts';
import { mutatedAssembly } from '../../tools/iam/mutations.ts';
import type { CfnTemplate } from '../../tools/local-runner/template.ts';

/**
 * The test assembly with the processor's circuit breaker kept shut, as `npm run reliability` and `npm run chaos`
 * synthesize it: tests that fail authorizations on purpose (tokens, faults) would rightly open it, and the
 * test assembly's breaker is not on the twin's time scale (its hold is, its open time is not). A temporary
 * copy (symlinks and the changed template): remove it after use.
 */
export function assemblyWithBreakerShut(cdkOut: string): string {
  const template = JSON.parse(readFileSync(join(cdkOut, `${PAYFLOW_STACK_NAME}.template.json`), 'utf8')) as CfnTemplate;
  for (const resource of Object.values(template.Resources)) {
    const variables = (resource.Properties?.Environment as { Variables?: Record<string, unknown> } | undefined)?.Variables;
    if (variables && 'BREAKER_FAILURE_THRESHOLD' in variables) variables.BREAKER_FAILURE_THRESHOLD = '1000000';
  }
  return mutatedAssembly(cdkOut, template);
}
