/** The stack's outputs as `cdk deploy --outputs-file` writes them, resolved to local values. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { LocalApiGateway } from './api-gateway/server.ts';
import type { LocalApiKey } from './api-gateway/template.ts';
import type { LocalIdentity } from './identity.ts';
import type { TemplateValue } from './intrinsics.ts';
import type { CfnTemplate } from './template.ts';

export type StackOutputs = Record<string, string>;

/** An API key of the running stack, with the stack output that names it (the one whose value is `Ref` of the key), if any. */
export interface LocalStackApiKey extends LocalApiKey {
  readonly outputName?: string;
}

/**
 * The template's outputs (those without a Condition), resolved locally; a URL of the deployed API
 * (`https://<apiId>.execute-api.<region>.amazonaws.com/<stage>/...`) becomes the local front's.
 */
export function templateOutputs(template: CfnTemplate, resolve: (value: TemplateValue) => TemplateValue, identity: LocalIdentity, api?: LocalApiGateway): StackOutputs {
  const outputs: StackOutputs = {};
  const deployedUrl = api && `https://${api.apiId}.execute-api.${identity.region}.amazonaws.com/${api.stageName}/`;
  for (const [name, output] of Object.entries(template.Outputs ?? {})) {
    if (output.Condition) continue;
    let value = String(resolve(output.Value as TemplateValue));
    if (api && deployedUrl && value.startsWith(deployedUrl)) value = api.url + value.slice(deployedUrl.length);
    outputs[name] = value;
  }
  return outputs;
}

/** Each API key with the name of the template output whose value is `Ref` of it. */
export function apiKeysWithOutputNames(template: CfnTemplate, keys: readonly LocalApiKey[]): LocalStackApiKey[] {
  return keys.map((key) => {
    const outputName = Object.entries(template.Outputs ?? {}).find(([, output]) => JSON.stringify(output.Value) === JSON.stringify({ Ref: key.logicalId }))?.[0];
    return outputName === undefined ? { ...key } : { ...key, outputName };
  });
}

/** Writes `{ [stackName]: outputs }` as JSON, creating the directory. */
export function writeOutputsFile(file: string, outputs: Record<string, StackOutputs>): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(outputs, null, 2)}\n`);
}
