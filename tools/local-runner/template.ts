import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CloudFormation resource as `cdk synth` writes it. Properties are left untyped: each emulator reads its own. */
export interface CfnResource {
  Type: string;
  // Arbitrary JSON: each emulator reads the properties it needs.
  Properties?: Record<string, any>;
  Metadata?: Record<string, any>;
  DependsOn?: string | string[];
  Condition?: string;
}

export interface CfnTemplate {
  Resources: Record<string, CfnResource>;
  Outputs?: Record<string, { Value: unknown; Description?: string; Export?: unknown; Condition?: string }>;
  Parameters?: Record<string, { Type: string; Default?: unknown }>;
  Conditions?: Record<string, unknown>;
  Mappings?: Record<string, unknown>;
  Rules?: Record<string, unknown>;
}

/** Resource types the local runner brings to life, and which part of it does. */
export const EMULATED_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::DynamoDB::Table': 'DynamoDB Local (keys, GSIs, stream, TTL)',
  'AWS::SQS::Queue': 'fauxqs (FIFO, dedupe, visibility timeout, redrive policy)',
  'AWS::Lambda::Function': 'a worker thread per execution environment, running the bundled asset from cdk.out',
  'AWS::Lambda::EventSourceMapping': 'stream and SQS pollers invoking the function as Lambda does',
  'AWS::StepFunctions::StateMachine': 'aws-local-stepfunctions on the synthesized definition',
  'AWS::ApiGateway::RestApi': 'the local HTTP front',
  'AWS::ApiGateway::Resource': 'the local HTTP front (routes)',
  'AWS::ApiGateway::Method': 'the local HTTP front (Lambda proxy and mock integrations)',
  'AWS::ApiGateway::Stage': 'the local HTTP front (path prefix, method throttling)',
  'AWS::ApiGateway::ApiKey': 'the local HTTP front (x-api-key; values generated locally)',
  'AWS::ApiGateway::UsagePlan': 'the local HTTP front (token-bucket throttling and quotas per key)',
  'AWS::ApiGateway::UsagePlanKey': 'the local HTTP front (which key belongs to which plan)',
  'AWS::ApiGateway::GatewayResponse': "the local HTTP front (the gateway's own error responses)",
  'AWS::ApiGateway::RequestValidator': 'the local HTTP front (required request parameters)',
  'AWS::Events::Rule': 'a timer per rate(...) schedule',
  'AWS::Scheduler::Schedule': 'a timer per rate(...) schedule',
  'AWS::KMS::Key': 'the local KMS (symmetric keys: GenerateDataKey, Encrypt, Decrypt; encryption at rest by other services has no local meaning)',
};

/** Resource types deliberately not emulated, and why that changes nothing the functions, queues, state machines or API do locally. */
export const IGNORED_RESOURCE_TYPES: Readonly<Record<string, string>> = {
  'AWS::CDK::Metadata': 'CDK bookkeeping',
  'AWS::IAM::Role': 'not created: the runner enforces its policies itself (iam/local-iam.ts)',
  'AWS::IAM::Policy': 'not created: the runner enforces it on the roles it names (iam/local-iam.ts)',
  'AWS::IAM::ManagedPolicy': 'not created: the runner enforces it on the roles it names (iam/local-iam.ts)',
  'AWS::Lambda::Permission': "not created: the runner checks it before the local front or a schedule invokes a function (iam/local-iam.ts)",
  'AWS::Lambda::EventInvokeConfig': 'asynchronous invocation settings: nothing invokes functions asynchronously locally',
  'AWS::Lambda::Version': 'the local runner always runs $LATEST',
  'AWS::Lambda::Alias': 'the local runner always runs $LATEST',
  'AWS::Logs::LogGroup': 'function logs go to the local log sink',
  'AWS::Logs::MetricFilter': 'no CloudWatch locally',
  'AWS::Logs::SubscriptionFilter': 'no CloudWatch locally',
  'AWS::Logs::ResourcePolicy': 'no CloudWatch locally',
  'AWS::CloudWatch::Alarm': 'no CloudWatch locally',
  'AWS::CloudWatch::CompositeAlarm': 'no CloudWatch locally',
  'AWS::CloudWatch::Dashboard': 'no CloudWatch locally',
  'AWS::CloudWatch::AnomalyDetector': 'no CloudWatch locally',
  'AWS::SNS::Topic': 'alarm notifications only: no alarms locally',
  'AWS::SNS::TopicPolicy': 'alarm notifications only: no alarms locally',
  'AWS::SNS::Subscription': 'alarm notifications only: no alarms locally',
  'AWS::SQS::QueuePolicy': 'not enforced: the local endpoints stand for TLS ones (its aws:SecureTransport deny never applies), and same-account grants are decided by the roles',
  'AWS::KMS::Alias': 'encryption at rest has no local meaning',
  'AWS::ApiGateway::Deployment': 'the local front always serves the synthesized routes',
  'AWS::ApiGateway::Account': 'the CloudWatch role of API Gateway: no CloudWatch locally',
  'AWS::XRay::Group': 'no X-Ray locally (the Tracer is off outside Lambda)',
  'AWS::XRay::SamplingRule': 'no X-Ray locally (the Tracer is off outside Lambda)',
};

export function resourcesOfType(template: CfnTemplate, type: string): Array<[logicalId: string, resource: CfnResource]> {
  return Object.entries(template.Resources).filter(([, resource]) => resource.Type === type);
}

/** Every resource type of the template that the runner neither emulates nor deliberately ignores. */
export function unsupportedResourceTypes(template: CfnTemplate): Array<{ type: string; logicalIds: string[] }> {
  const unsupported = new Map<string, string[]>();
  for (const [logicalId, { Type }] of Object.entries(template.Resources)) {
    if (Type in EMULATED_RESOURCE_TYPES || Type in IGNORED_RESOURCE_TYPES) continue;
    unsupported.set(Type, [...(unsupported.get(Type) ?? []), logicalId]);
  }
  return [...unsupported].map(([type, logicalIds]) => ({ type, logicalIds }));
}

export class UnsupportedTemplateError extends Error {
  override readonly name = 'UnsupportedTemplateError';
}

export function assertSupportedTemplate(template: CfnTemplate): void {
  const unsupported = unsupportedResourceTypes(template);
  if (unsupported.length === 0) return;
  const lines = unsupported.map(({ type, logicalIds }) => `  ${type} (${logicalIds.join(', ')})`);
  throw new UnsupportedTemplateError(
    `The local runner does not support these resource types of the synthesized template:\n${lines.join('\n')}\n` +
      'Emulate them in tools/local-runner/ or, if they have no local meaning, list them in IGNORED_RESOURCE_TYPES (tools/local-runner/template.ts).',
  );
}

/** Reads a stack's template out of a cloud assembly directory (cdk.out). */
export function readStackTemplate(cdkOut: string, stackName: string): CfnTemplate {
  const manifestPath = join(cdkOut, 'manifest.json');
  let templateFile = `${stackName}.template.json`;
  if (existsSync(manifestPath)) {
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
      artifacts?: Record<string, { type: string; properties?: { templateFile?: string } }>;
    };
    const artifact = manifest.artifacts?.[stackName];
    if (artifact?.type === 'aws:cloudformation:stack' && artifact.properties?.templateFile) templateFile = artifact.properties.templateFile;
  }
  const path = join(cdkOut, templateFile);
  if (!existsSync(path)) throw new Error(`No template for stack ${stackName} in ${cdkOut}`);
  return JSON.parse(readFileSync(path, 'utf8')) as CfnTemplate;
}

/** Logical ids a template value refers to through Ref, Fn::GetAtt or Fn::Sub (pseudo parameters excluded). */
export function referencedLogicalIds(value: unknown, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const item of value) referencedLogicalIds(item, into);
  } else if (value && typeof value === 'object') {
    for (const [key, argument] of Object.entries(value)) {
      if (key === 'Ref' && typeof argument === 'string') {
        if (!argument.startsWith('AWS::')) into.add(argument);
      } else if (key === 'Fn::GetAtt') {
        const target = typeof argument === 'string' ? argument.split('.')[0] : Array.isArray(argument) ? argument[0] : undefined;
        if (typeof target === 'string') into.add(target);
      } else if (key === 'Fn::Sub') {
        const text = typeof argument === 'string' ? argument : Array.isArray(argument) ? argument[0] : undefined;
        const variables = Array.isArray(argument) && argument[1] && typeof argument[1] === 'object' ? (argument[1] as object) : {};
        for (const [, name] of String(text ?? '').matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const id = name!.trim().split('.')[0]!;
          if (!id.startsWith('AWS::') && !(id in variables)) into.add(id);
        }
      }
      referencedLogicalIds(argument, into);
    }
  }
  return into;
}
