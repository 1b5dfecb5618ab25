/**
 * The template's IAM roles and the policies attached to them, as the runner enforces them: for each
 * AWS::IAM::Role its inline `Policies`, every AWS::IAM::Policy and AWS::IAM::ManagedPolicy that names it in
 * `Roles`, and the template's own managed policies it lists in `ManagedPolicyArns`, with the intrinsics
 * resolved to local values. AWS-managed policies (arn:aws:iam::aws:policy/...) are not in the template, so
 * their content is unknown here: they are listed on the role (`awsManagedPolicyArns`) and grant nothing locally.
 */
import type { TemplateValue } from '../intrinsics.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';

export interface PolicyDocument {
  Version?: string;
  Statement: PolicyStatement[] | PolicyStatement;
}

export interface PolicyStatement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  NotAction?: string | string[];
  Resource?: string | string[];
  NotResource?: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
  Principal?: unknown;
}

export interface NamedPolicy {
  /** The policy's logical id (AWS::IAM::Policy / ManagedPolicy) or `<role>/<PolicyName>` for an inline one. */
  name: string;
  policy: PolicyDocument;
}

export interface LocalRole {
  logicalId: string;
  /** The role's name: `RoleName`, else `<stack>-<logicalId>` (CloudFormation adds a random suffix on AWS). */
  roleName: string;
  arn: string;
  /** Services that may assume it (`lambda.amazonaws.com`, `states.amazonaws.com`, ...). */
  trustedServices: string[];
  policies: NamedPolicy[];
  awsManagedPolicyArns: string[];
}

/** The logical id a `Ref` / `Fn::GetAtt [id, Arn]` of the raw template value points at, if any. */
export function referencedLogicalId(value: unknown): string | undefined {
  if (!value || typeof value !== 'object') return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.Ref === 'string') return record.Ref;
  const getAtt = record['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  return undefined;
}

const asList = <T>(value: T | T[] | undefined): T[] => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

/** Every role of the template with its policies, resolved with `resolve` (after every resource they mention is registered). */
export function rolesFromTemplate(
  template: CfnTemplate,
  resolve: (value: TemplateValue) => TemplateValue,
  identity: { accountId: string },
  stackName: string,
): Map<string, LocalRole> {
  const roles = new Map<string, LocalRole>();
  const managedById = new Map<string, NamedPolicy>();
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::IAM::ManagedPolicy')) {
    managedById.set(logicalId, { name: logicalId, policy: resolve(resource.Properties?.PolicyDocument as TemplateValue) as unknown as PolicyDocument });
  }
  for (const [logicalId, resource] of resourcesOfType(template, 'AWS::IAM::Role')) {
    const props = resource.Properties ?? {};
    const roleName = typeof props.RoleName === 'string' ? props.RoleName : `${stackName}-${logicalId}`;
    const trust = (props.AssumeRolePolicyDocument ?? { Statement: [] }) as PolicyDocument;
    const trustedServices = asList(trust.Statement).flatMap((statement) => asList((statement.Principal as { Service?: string | string[] } | undefined)?.Service));
    const policies: NamedPolicy[] = asList(props.Policies as Array<{ PolicyName: string; PolicyDocument: TemplateValue }> | undefined).map((inline) => ({
      name: `${logicalId}/${inline.PolicyName}`,
      policy: resolve(inline.PolicyDocument) as unknown as PolicyDocument,
    }));
    const awsManagedPolicyArns: string[] = [];
    for (const arn of asList(props.ManagedPolicyArns as TemplateValue[] | undefined)) {
      const ownId = referencedLogicalId(arn);
      if (ownId && managedById.has(ownId)) policies.push(managedById.get(ownId)!);
      else awsManagedPolicyArns.push(String(resolve(arn)));
    }
    roles.set(logicalId, { logicalId, roleName, arn: `arn:aws:iam::${identity.accountId}:role/${roleName}`, trustedServices, policies, awsManagedPolicyArns });
  }
  for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy']) {
    for (const [logicalId, resource] of resourcesOfType(template, type)) {
      const props = resource.Properties ?? {};
      for (const roleRef of asList(props.Roles as TemplateValue[] | undefined)) {
        const role = roles.get(referencedLogicalId(roleRef) ?? '');
        if (!role) continue;
        const named = type === 'AWS::IAM::Policy' ? { name: logicalId, policy: resolve(props.PolicyDocument as TemplateValue) as unknown as PolicyDocument } : managedById.get(logicalId)!;
        if (!role.policies.includes(named)) role.policies.push(named);
      }
    }
  }
  return roles;
}

/** The role (logical id) a resource's `Role` / `RoleArn` property points at. */
export function roleOf(template: CfnTemplate, logicalId: string, property: 'Role' | 'RoleArn'): string | undefined {
  return referencedLogicalId(template.Resources[logicalId]?.Properties?.[property]);
}

/** Every action a role's Allow statements name (as written: wildcards stay wildcards). */
export function grantedActions(role: LocalRole): Array<{ action: string; resources: string[]; policy: string }> {
  const granted: Array<{ action: string; resources: string[]; policy: string }> = [];
  for (const { name, policy } of role.policies) {
    for (const statement of asList(policy.Statement)) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of asList(statement.Action)) granted.push({ action, resources: asList(statement.Resource).map(String), policy: name });
    }
  }
  return granted;
}
