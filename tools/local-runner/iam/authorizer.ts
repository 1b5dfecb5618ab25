/**
 * Decides, as IAM does, whether a principal of the local stack may call an action on a resource, with
 * @cloud-copilot/iam-simulate (AWS's evaluation logic: explicit deny, wildcards, NotAction/NotResource,
 * condition operators) on the role's policies as synthesized. Every decision is recorded: what each role
 * actually used (the access report) and every denial (with AWS's message).
 */
import { runSimulation } from '@cloud-copilot/iam-simulate';
import type { LocalRole, PolicyDocument } from './roles.ts';

/** Who calls: a role assumed by a service for a session (a function's name, a state machine's execution). */
export interface LocalPrincipal {
  role: LocalRole;
  sessionName: string;
  /** The function execution environment that holds these credentials (issued per environment when faults may kill one). */
  environment?: string;
}

export interface AccessRequest {
  action: string;
  resource: string;
  /**
   * The resource's own policy, where the service always evaluates one: a KMS key's key policy (without one that
   * allows it — directly, or by trusting the account's IAM policies — no role policy can grant a KMS action).
   */
  resourcePolicy?: PolicyDocument;
}

export interface Denial {
  action: string;
  resource: string;
  roleLogicalId: string;
  roleName: string;
  sessionName: string;
  message: string;
  at: string;
}

/** What AWS's AccessDeniedException says for an identity-based denial. */
export function accessDeniedMessage(principal: LocalPrincipal, { action, resource }: AccessRequest, accountId: string, explicit = false): string {
  const user = `arn:aws:sts::${accountId}:assumed-role/${principal.role.roleName}/${principal.sessionName}`;
  const why = explicit ? `with an explicit deny in an identity-based policy` : `because no identity-based policy allows the ${action} action`;
  return `User: ${user} is not authorized to perform: ${action} on resource: ${resource} ${why}`;
}

type Decision = 'Allowed' | 'ImplicitlyDenied' | 'ExplicitlyDenied';

async function simulate(policies: Array<{ name: string; policy: PolicyDocument }>, principalArn: string, request: AccessRequest, accountId: string, resourcePolicy?: PolicyDocument, context: Record<string, string> = {}): Promise<Decision> {
  const response = await runSimulation(
    {
      identityPolicies: policies as never,
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      ...(resourcePolicy ? { resourcePolicy: resourcePolicy as never } : {}),
      request: { action: request.action, principal: principalArn, resource: { resource: request.resource, accountId }, contextVariables: context },
    } as never,
    {},
  );
  if (response.resultType === 'error') throw new Error(`IAM simulation of ${request.action} on ${request.resource} failed: ${JSON.stringify(response.errors)}`);
  return response.overallResult as Decision;
}

export class IamAuthorizer {
  private readonly decisions = new Map<string, Promise<Decision>>();
  /** role logical id -> action -> resources it was used on (allowed calls only). */
  readonly used = new Map<string, Map<string, Set<string>>>();
  readonly denials: Denial[] = [];
  private readonly listeners: Array<(denial: Denial) => void> = [];

  constructor(
    readonly roles: ReadonlyMap<string, LocalRole>,
    readonly accountId: string,
  ) {}

  /** Called on every denial (e.g. to log it). */
  onDenial(listener: (denial: Denial) => void): void {
    this.listeners.push(listener);
  }

  /**
   * Authorizes every request (a transaction's items, a batch's tables) in order; resolves with the first
   * denial's AWS message, or undefined when all are allowed. Allowed requests are recorded as used.
   */
  async authorize(principal: LocalPrincipal, requests: readonly AccessRequest[]): Promise<Denial | undefined> {
    for (const request of requests) {
      const decision = await this.decide(principal.role, request);
      if (decision !== 'Allowed') {
        const denial: Denial = {
          action: request.action,
          resource: request.resource,
          roleLogicalId: principal.role.logicalId,
          roleName: principal.role.roleName,
          sessionName: principal.sessionName,
          message: accessDeniedMessage(principal, request, this.accountId, decision === 'ExplicitlyDenied'),
          at: new Date().toISOString(),
        };
        this.denials.push(denial);
        for (const listener of this.listeners) listener(denial);
        return denial;
      }
    }
    for (const request of requests) this.recordUse(principal.role.logicalId, request);
    return undefined;
  }

  /** Whether the role's policies allow the request (no recording). */
  allows(role: LocalRole, request: AccessRequest): Promise<boolean> {
    return this.decide(role, request).then((decision) => decision === 'Allowed');
  }

  recordUse(roleLogicalId: string, { action, resource }: AccessRequest): void {
    let actions = this.used.get(roleLogicalId);
    if (!actions) this.used.set(roleLogicalId, (actions = new Map()));
    let resources = actions.get(action);
    if (!resources) actions.set(action, (resources = new Set()));
    resources.add(resource);
  }

  private decide(role: LocalRole, request: AccessRequest): Promise<Decision> {
    const key = `${role.logicalId}\u0000${request.action}\u0000${request.resource}`;
    let decision = this.decisions.get(key);
    if (!decision) {
      decision = simulate(role.policies, `arn:aws:sts::${this.accountId}:assumed-role/${role.roleName}/local`, request, this.accountId, request.resourcePolicy);
      this.decisions.set(key, decision);
    }
    return decision;
  }
}

/**
 * Whether a resource-based policy (e.g. a function's, made of its AWS::Lambda::Permission resources) lets
 * a service principal (`apigateway.amazonaws.com`, `events.amazonaws.com`) call `action` on `resource`
 * from `sourceArn`.
 */
export async function resourcePolicyAllowsService(policy: PolicyDocument, service: string, request: AccessRequest, accountId: string, sourceArn?: string): Promise<boolean> {
  const decision = await simulate([], service, request, accountId, policy, {
    ...(sourceArn ? { 'aws:SourceArn': sourceArn } : {}),
    'aws:SourceAccount': accountId,
  });
  return decision === 'Allowed';
}
