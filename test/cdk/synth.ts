import { Template } from 'aws-cdk-lib/assertions';
import { buildApp } from '../../lib/app.ts';
import type { PayflowStack } from '../../lib/payflow-stack.ts';

export interface Synthesized {
  readonly stack: PayflowStack;
  readonly template: Template;
  /** The template as plain JSON. */
  readonly json: CfnTemplate;
}

export interface CfnResource {
  Type: string;
  Properties?: Record<string, any>;
  DeletionPolicy?: string;
  UpdateReplacePolicy?: string;
  Metadata?: Record<string, unknown>;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string }>;
}

/**
 * Builds a fresh app and its stack's template, without bundling the functions (as `cdk ls` does: these
 * tests read the template, not the bundles; the global setup bundles them once per run). Call it once per
 * file, in beforeAll.
 */
export function synthesize(context?: Record<string, unknown>): Synthesized {
  const { stack } = buildApp({ context: { 'aws:cdk:bundling-stacks': [], ...context } });
  const template = Template.fromStack(stack);
  return { stack, template, json: template.toJSON() as CfnTemplate };
}

export function resourcesOfType(json: CfnTemplate, type: string): Array<[logicalId: string, resource: CfnResource]> {
  return Object.entries(json.Resources).filter(([, resource]) => resource.Type === type);
}

/** The logical id a `{Ref}` or `{Fn::GetAtt}` points at, or undefined. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (value && typeof value === 'object') {
    if ('Ref' in value) return (value as { Ref: string }).Ref;
    if ('Fn::GetAtt' in value) return (value as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  }
  return undefined;
}

/** The logical id of the single resource of `type` whose id starts with `prefix` (ids carry a hash suffix). */
export function logicalIdOf(json: CfnTemplate, type: string, prefix: string): string {
  const matches = resourcesOfType(json, type).filter(([logicalId]) => logicalId.startsWith(prefix));
  if (matches.length !== 1) throw new Error(`expected one ${type} with id ${prefix}*, found ${matches.map(([id]) => id).join(', ') || 'none'}`);
  return matches[0]![0];
}
