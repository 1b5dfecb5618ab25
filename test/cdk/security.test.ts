import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Stack, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { testCdkOut } from '../support/paths.ts';
import { referencedLogicalId, resourcesOfType, synthesize, type Synthesized } from './synth.ts';

let synthesized: Synthesized;

beforeAll(() => {
  synthesized = synthesize();
});

interface Statement {
  Effect: 'Allow' | 'Deny';
  Action?: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

/** Every statement of every identity policy (inline and role policies) in the template. */
function identityStatements(): Array<[logicalId: string, statement: Statement]> {
  const policies = [
    ...resourcesOfType(synthesized.json, 'AWS::IAM::Policy').map(([id, p]) => [id, [p.Properties?.PolicyDocument]] as const),
    ...resourcesOfType(synthesized.json, 'AWS::IAM::Role').map(
      ([id, r]) => [id, (r.Properties?.Policies ?? []).map((p: { PolicyDocument: unknown }) => p.PolicyDocument)] as const,
    ),
  ];
  return policies.flatMap(([logicalId, documents]) =>
    documents.flatMap((document: { Statement: Statement[] }) => document.Statement.map((s) => [logicalId, s] as [string, Statement])),
  );
}

const actionsOf = (statement: Statement) => [statement.Action ?? []].flat();

/** Whether one of the policies on `logicalId` (a queue or topic) denies every request without TLS. */
function deniesInsecureTransport(policies: ReturnType<typeof resourcesOfType>, targets: 'Queues' | 'Topics', logicalId: string): boolean {
  return policies.some(
    ([, policy]) =>
      policy.Properties?.[targets].some((target: unknown) => referencedLogicalId(target) === logicalId) &&
      (policy.Properties?.PolicyDocument.Statement as Statement[]).some(
        (s) => s.Effect === 'Deny' && JSON.stringify(s.Condition) === JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
      ),
  );
}

/**
 * Actions that AWS offers on no narrower resource than `*`. Anything else on Resource `*` fails the test,
 * which is what makes the IAM5[Resource::*] acknowledgements for X-Ray safe.
 */
const RESOURCE_STAR_ALLOWED = new Set([
  'xray:PutTraceSegments',
  'xray:PutTelemetryRecords',
  'xray:GetSamplingRules',
  'xray:GetSamplingTargets',
  // Finding a table's stream ARN (grantStreamRead): ListStreams has no resource-level permissions.
  'dynamodb:ListStreams',
  // Step Functions logging to CloudWatch Logs (vended log delivery).
  'logs:CreateLogDelivery',
  'logs:GetLogDelivery',
  'logs:UpdateLogDelivery',
  'logs:DeleteLogDelivery',
  'logs:ListLogDeliveries',
  'logs:PutResourcePolicy',
  'logs:DescribeResourcePolicies',
  'logs:DescribeLogGroups',
]);

describe('IAM: least privilege through grants', () => {
  it('no statement allows every action or every action of a data service', () => {
    for (const [logicalId, statement] of identityStatements()) {
      if (statement.Effect !== 'Allow') continue;
      for (const action of actionsOf(statement)) {
        expect(action, logicalId).not.toBe('*');
        expect(action, logicalId).not.toMatch(/^(dynamodb|sqs|states|sns|kms|lambda|logs|iam|s3):\*$/);
      }
    }
  });

  it('nothing but X-Ray, log delivery and stream listing is allowed on Resource *', () => {
    for (const [logicalId, statement] of identityStatements()) {
      if (statement.Effect !== 'Allow') continue;
      const resources = [statement.Resource].flat();
      if (!resources.includes('*')) continue;
      for (const action of actionsOf(statement)) expect(RESOURCE_STAR_ALLOWED.has(action), `${logicalId}: ${action} on *`).toBe(true);
    }
  });

  it('no function role carries the broad AWSLambdaBasicExecutionRole: each may write only to its own log group', () => {
    for (const [functionId, fn] of resourcesOfType(synthesized.json, 'AWS::Lambda::Function')) {
      const roleId = referencedLogicalId(fn.Properties?.Role)!;
      const role = synthesized.json.Resources[roleId]!;
      expect(JSON.stringify(role.Properties?.ManagedPolicyArns ?? []), functionId).not.toContain('AWSLambdaBasicExecutionRole');
      const logGroupId = referencedLogicalId(fn.Properties?.LoggingConfig?.LogGroup);
      const logStatements = identityStatements().filter(
        ([policyId, statement]) =>
          actionsOf(statement).includes('logs:PutLogEvents') &&
          synthesized.json.Resources[policyId]!.Properties?.Roles?.some((r: unknown) => referencedLogicalId(r) === roleId),
      );
      expect(logStatements.map(([, s]) => referencedLogicalId(s.Resource)), functionId).toEqual([logGroupId]);
    }
  });
});

describe('functions', () => {
  it('every function is nodejs22.x on arm64, traced, logging JSON to its own log group with a retention', () => {
    const functions = resourcesOfType(synthesized.json, 'AWS::Lambda::Function');
    expect(functions.length).toBeGreaterThanOrEqual(3);
    for (const [logicalId, fn] of functions) {
      expect(fn.Properties, logicalId).toMatchObject({
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogFormat: 'JSON' },
      });
      const logGroup = synthesized.json.Resources[referencedLogicalId(fn.Properties?.LoggingConfig?.LogGroup)!];
      expect(logGroup?.Type, logicalId).toBe('AWS::Logs::LogGroup');
      expect(logGroup?.Properties?.RetentionInDays, logicalId).toBeGreaterThan(0);
    }
  });
});

describe('encryption at rest and in transit', () => {
  it('every table is encrypted', () => {
    for (const [logicalId, table] of resourcesOfType(synthesized.json, 'AWS::DynamoDB::Table')) {
      expect(table.Properties?.SSESpecification, logicalId).toEqual({ SSEEnabled: true });
    }
  });

  it('every queue is encrypted and refuses requests without TLS', () => {
    const queuePolicies = resourcesOfType(synthesized.json, 'AWS::SQS::QueuePolicy');
    for (const [logicalId, queue] of resourcesOfType(synthesized.json, 'AWS::SQS::Queue')) {
      expect(queue.Properties?.SqsManagedSseEnabled === true || queue.Properties?.KmsMasterKeyId !== undefined, logicalId).toBe(true);
      expect(deniesInsecureTransport(queuePolicies, 'Queues', logicalId), `${logicalId} TLS only`).toBe(true);
    }
  });

  it('every topic is KMS-encrypted and refuses publishing without TLS', () => {
    const topicPolicies = resourcesOfType(synthesized.json, 'AWS::SNS::TopicPolicy');
    const topics = resourcesOfType(synthesized.json, 'AWS::SNS::Topic');
    expect(topics.length).toBeGreaterThan(0);
    for (const [logicalId, topic] of topics) {
      expect(topic.Properties?.KmsMasterKeyId, logicalId).toBeDefined();
      expect(deniesInsecureTransport(topicPolicies, 'Topics', logicalId), `${logicalId} TLS only`).toBe(true);
    }
  });

  it('every KMS key rotates', () => {
    for (const [logicalId, key] of resourcesOfType(synthesized.json, 'AWS::KMS::Key')) {
      expect(key.Properties?.EnableKeyRotation, logicalId).toBe(true);
    }
  });
});

describe('cdk-nag AwsSolutions', () => {
  it('finds nothing that is not acknowledged', () => {
    const report = new AwsSolutionsChecks().validateScope(synthesized.stack);
    const findings = report.violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => `${violation.ruleName} at ${resource.constructPath}: ${violation.description}`),
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('every acknowledgement names a rule, sits below the stack (on the construct it concerns) and says why', () => {
    const acknowledgements = synthesized.stack.node
      .findAll()
      .flatMap((construct) =>
        construct.node.metadata
          .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
          .flatMap((entry) => Object.entries(entry.data as Record<string, unknown>).map(([id, reason]) => ({ construct, id, reason }))),
      );
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const { construct, id, reason } of acknowledgements) {
      expect(id, construct.node.path).toMatch(/AwsSolutions-[A-Z]+\d+/);
      expect(construct instanceof Stack, `${id} acknowledged on the whole stack`).toBe(false);
      expect(typeof reason === 'string' && reason.trim().length >= 30, `${id} at ${construct.node.path} needs a specific reason`).toBe(true);
    }
  });

  it('the synthesized cloud assembly of this test run has no failed validation report', () => {
    const reportPath = join(testCdkOut(), 'validation-report.json');
    const report = existsSync(reportPath)
      ? (JSON.parse(readFileSync(reportPath, 'utf8')) as { pluginReports: Array<{ summary?: { status?: string }; violations?: unknown[] }> })
      : { pluginReports: [] };
    for (const pluginReport of report.pluginReports) {
      expect(pluginReport.violations ?? [], JSON.stringify(pluginReport.summary)).toEqual([]);
    }
  });
});
