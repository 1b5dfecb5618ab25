/**
 * IAM for a local stack: every function and state machine gets credentials that identify its role, the
 * emulators sit behind authorizing proxies, and the other principals are checked where the runner acts for
 * AWS: a state machine's role before it invokes a function, a function's role before its event source
 * mapping starts (AWS refuses to create the mapping), and a function's resource policy (its
 * AWS::Lambda::Permission resources) before API Gateway or a schedule invokes it.
 *
 * Not enforced (the twin has no way to, or no need): AWS-managed policies attached by ARN (their text is not
 * in the template: they grant nothing locally), permission boundaries, SCPs, session policies, KMS key
 * grants (a KMS call is authorized on the key's policy from the template and the caller's role policies, as KMS
 * does), CloudWatch Logs and X-Ray actions (no such services locally), and the
 * `aws:SecureTransport` denies of queue and topic policies (the local endpoints stand for TLS ones).
 */
import { writeFileSync } from 'node:fs';
import type { FaultInjector } from '../faults/plan.ts';
import type { TemplateValue } from '../intrinsics.ts';
import type { LocalReferences } from '../references.ts';
import { keyArnOfCiphertext } from '../kms/emulator.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';
import { IamAuthorizer, resourcePolicyAllowsService, type AccessRequest, type Denial, type LocalPrincipal } from './authorizer.ts';
import { startAuthorizingProxy, type AuthorizingProxy } from './proxy.ts';
import type { ResourceNames } from './requests.ts';
import { grantedActions, referencedLogicalId, roleOf, rolesFromTemplate, type LocalRole, type PolicyDocument, type PolicyStatement } from './roles.ts';

/** An action the role was granted, and what was used of it. */
export interface RoleAccess {
  role: string;
  roleName: string;
  granted: Array<{ action: string; resources: string[]; policy: string }>;
  used: Array<{ action: string; resources: string[] }>;
}

export interface AccessReport {
  roles: RoleAccess[];
  denials: Denial[];
}

/** Thrown when an event source mapping's function role lacks what AWS checks when the mapping is created. */
export class EventSourceMappingPermissionError extends Error {
  override readonly name = 'InvalidParameterValueException';
}

/** What Lambda checks on the function's role when an event source mapping is created or polls. */
const MAPPING_ACTIONS = {
  // https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html#events-sqs-permissions (read 2026-12-01)
  sqs: ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'],
  // https://docs.aws.amazon.com/lambda/latest/dg/services-dynamodb-eventsourcemapping.html#events-dynamodb-permissions (read 2026-12-01)
  stream: ['dynamodb:DescribeStream', 'dynamodb:GetRecords', 'dynamodb:GetShardIterator', 'dynamodb:ListStreams'],
};

export class LocalIam {
  readonly roles: Map<string, LocalRole>;
  readonly authorizer: IamAuthorizer;
  /** Access key id -> the principal it was issued to. */
  readonly principals = new Map<string, LocalPrincipal>();
  private readonly tableArns = new Map<string, string>();
  private readonly queueArns = new Map<string, string>();
  private readonly keyPolicies = new Map<string, PolicyDocument>();
  private readonly proxies: AuthorizingProxy[] = [];
  /** Decisions of functions' resource policies, by function, service and source ARN (the policies are the template's). */
  private readonly serviceInvokeDecisions = new Map<string, Promise<boolean>>();

  constructor(
    private readonly template: CfnTemplate,
    private readonly references: LocalReferences,
    stackName: string,
  ) {
    this.roles = rolesFromTemplate(template, references.resolve, references.identity, stackName);
    for (const [logicalId, key] of resourcesOfType(template, 'AWS::KMS::Key')) {
      if (key.Properties?.KeyPolicy) this.keyPolicies.set(String(references.getAtt(logicalId, 'Arn')), references.resolve(key.Properties.KeyPolicy as TemplateValue) as unknown as PolicyDocument);
    }
    this.authorizer = new IamAuthorizer(this.roles, references.identity.accountId);
    this.resourceNames = this.buildNames();
    for (const [logicalId] of resourcesOfType(template, 'AWS::DynamoDB::Table')) {
      this.tableArns.set(String(references.ref(logicalId)), String(references.getAtt(logicalId, 'Arn')));
    }
  }

  /** The queues' ARNs by URL and by name (for GetQueueUrl). */
  addQueues(queues: ReadonlyArray<{ name: string; url: string; arn: string }>): void {
    for (const queue of queues) {
      this.queueArns.set(queue.url, queue.arn);
      this.queueArns.set(queue.name, queue.arn);
    }
  }

  get names(): ResourceNames {
    return this.resourceNames;
  }

  private readonly resourceNames: ResourceNames;

  private buildNames(): ResourceNames {
    return {
    tableArn: (name) => this.tableArns.get(name) ?? `arn:aws:dynamodb:${this.references.identity.region}:${this.references.identity.accountId}:table/${name}`,
    queueArn: (urlOrName) =>
      this.queueArns.get(urlOrName) ?? `arn:aws:sqs:${this.references.identity.region}:${this.references.identity.accountId}:${urlOrName.split('/').pop()}`,
    streamOfShardIterator: (iterator) => /arn:aws:dynamodb:[^|"\s]+\/stream\/[^|"\s]+/.exec(iterator)?.[0],
    keyOfCiphertext: keyArnOfCiphertext,
    keyPolicy: (keyArn) => this.keyPolicies.get(keyArn),
    region: this.references.identity.region,
    accountId: this.references.identity.accountId,
    };
  }

  /** Issues credentials (an access key id) for `roleLogicalId` assumed by `sessionName` (held by one execution `environment`, when given). */
  credentialsFor(roleLogicalId: string, sessionName: string, environment?: string): { accessKeyId: string; secretAccessKey: string } {
    const role = this.roles.get(roleLogicalId);
    if (!role) throw new Error(`${roleLogicalId} is not an IAM role of the template`);
    // DynamoDB Local accepts only letters and digits in an access key id: a number names the session.
    const existing = [...this.principals].find(([, principal]) => principal.role === role && principal.sessionName === sessionName && principal.environment === environment)?.[0];
    const accessKeyId = existing ?? `ASIALOCAL${this.principals.size}X${roleLogicalId.replace(/[^A-Za-z0-9]/g, '')}`;
    this.principals.set(accessKeyId, { role, sessionName, ...(environment ? { environment } : {}) });
    return { accessKeyId, secretAccessKey: 'local' };
  }

  /** The execution role of a function, a state machine ... (`Role` / `RoleArn`), when the template names one of its roles. */
  roleOf(logicalId: string): LocalRole | undefined {
    const props = this.template.Resources[logicalId]?.Properties ?? {};
    const roleId = roleOf(this.template, logicalId, 'Role' in props ? 'Role' : 'RoleArn');
    return roleId ? this.roles.get(roleId) : undefined;
  }

  /** Starts an authorizing proxy in front of `upstream` (injecting `faults`, when given); returns its endpoint. */
  async proxy(upstream: string, hooks: { onAnswered?: (operation: string) => void; faults?: FaultInjector } = {}): Promise<string> {
    const proxy = await startAuthorizingProxy({ upstream, authorizer: this.authorizer, principals: this.principals, names: this.names, ...hooks });
    this.proxies.push(proxy);
    return proxy.endpoint;
  }

  /** Authorizes a call the runner makes on a principal's behalf (a state machine invoking a function). */
  authorize(principal: LocalPrincipal, request: AccessRequest): Promise<Denial | undefined> {
    return this.authorizer.authorize(principal, [request]);
  }

  /**
   * Refuses an event source mapping whose function role may not read its source (or send to its on-failure
   * destination), as Lambda refuses to create it, naming the mapping, the role and the action.
   */
  async checkEventSourceMapping(logicalId: string, functionLogicalId: string, source: { kind: 'sqs' | 'stream'; arn: string }, destinationArn?: string): Promise<void> {
    const role = this.roleOf(functionLogicalId);
    if (!role) return;
    const needed: AccessRequest[] = MAPPING_ACTIONS[source.kind].map((action) => ({ action, resource: action === 'dynamodb:ListStreams' ? '*' : source.arn }));
    if (destinationArn) needed.push({ action: 'sqs:SendMessage', resource: destinationArn });
    for (const request of needed) {
      if (await this.authorizer.allows(role, request)) {
        this.authorizer.recordUse(role.logicalId, request);
        continue;
      }
      throw new EventSourceMappingPermissionError(
        `${logicalId}: the execution role ${role.roleName} (${role.logicalId}) of ${functionLogicalId} does not have permissions to call ${request.action} on ${request.resource} ` +
          `(AWS refuses to create this event source mapping)`,
      );
    }
  }

  /** A function's resource-based policy, made of the template's AWS::Lambda::Permission resources for it. */
  functionPolicy(functionLogicalId: string): PolicyDocument {
    const functionArn = String(this.references.getAtt(functionLogicalId, 'Arn'));
    const statements = resourcesOfType(this.template, 'AWS::Lambda::Permission')
      .filter(([, resource]) => referencedLogicalId(resource.Properties?.FunctionName) === functionLogicalId)
      .map(([logicalId, resource]): PolicyStatement => {
        const props = this.references.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, string>;
        const principal = String(props.Principal);
        const condition: Record<string, Record<string, string>> = {};
        if (props.SourceArn) condition.ArnLike = { 'aws:SourceArn': props.SourceArn };
        if (props.SourceAccount) condition.StringEquals = { 'aws:SourceAccount': props.SourceAccount };
        return {
          Sid: logicalId,
          Effect: 'Allow' as const,
          Principal: principal.endsWith('.amazonaws.com') ? { Service: principal } : { AWS: principal },
          Action: props.Action!,
          Resource: functionArn,
          ...(Object.keys(condition).length > 0 ? { Condition: condition } : {}),
        };
      });
    return { Version: '2012-10-17', Statement: statements };
  }

  /** Whether `service` may invoke the function from `sourceArn` (its resource policy); recorded under the function. */
  async serviceMayInvoke(functionLogicalId: string, service: string, sourceArn: string): Promise<boolean> {
    const functionArn = String(this.references.getAtt(functionLogicalId, 'Arn'));
    const request = { action: 'lambda:InvokeFunction', resource: functionArn };
    // The function's policy is the template's: one simulation per function, service and source (every API request asked it again).
    const key = `${functionLogicalId}\u0000${service}\u0000${sourceArn}`;
    let decision = this.serviceInvokeDecisions.get(key);
    if (!decision) {
      decision = resourcePolicyAllowsService(this.functionPolicy(functionLogicalId), service, request, this.references.identity.accountId, sourceArn);
      this.serviceInvokeDecisions.set(key, decision);
      decision.catch(() => this.serviceInvokeDecisions.delete(key)); // a failed simulation is asked again next time
    }
    const allowed = await decision;
    if (allowed) this.authorizer.recordUse(`${service} → ${functionLogicalId}`, { ...request, resource: sourceArn });
    return allowed;
  }

  /** Per role: what its policies grant, and what the stack's calls actually used. */
  report(): AccessReport {
    const roles = [...this.roles.values()].map((role) => ({
      role: role.logicalId,
      roleName: role.roleName,
      granted: grantedActions(role),
      used: [...(this.authorizer.used.get(role.logicalId) ?? new Map<string, Set<string>>())].map(([action, resources]) => ({ action, resources: [...resources].sort() })),
    }));
    return { roles, denials: this.authorizer.denials };
  }

  writeReport(file: string): void {
    writeFileSync(file, `${JSON.stringify(this.report(), null, 2)}\n`);
  }

  async close(): Promise<void> {
    await Promise.all(this.proxies.map((proxy) => proxy.close()));
  }
}
