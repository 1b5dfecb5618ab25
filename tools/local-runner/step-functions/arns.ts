import { randomUUID } from 'node:crypto';
import { LOCAL_IDENTITY, type LocalIdentity } from '../identity.ts';
import type { ReferenceRegistry } from '../references.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';

/** Local name of a state machine: its StateMachineName property when it is a plain string, else its logical id. */
export function localStateMachineName(template: CfnTemplate, logicalId: string): string {
  const name = template.Resources[logicalId]?.Properties?.StateMachineName;
  return typeof name === 'string' ? name : logicalId;
}

/** The ARN a state machine gets locally (also what `Ref` of it must resolve to, e.g. in a function's environment). */
export function localStateMachineArn(template: CfnTemplate, logicalId: string, identity: LocalIdentity = LOCAL_IDENTITY): string {
  return `arn:aws:states:${identity.region}:${identity.accountId}:stateMachine:${localStateMachineName(template, logicalId)}`;
}

/** The ARN a Lambda function gets locally by default: its logical id is the function name. */
export function localFunctionArn(logicalId: string, identity: LocalIdentity = LOCAL_IDENTITY): string {
  return `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${logicalId}`;
}

/**
 * The ARN of an execution named `name`: Standard executions are `:execution:<machine>:<name>` (the name is
 * unique per state machine); Express ones `:express:<machine>:<name>:<id>` (names are not deduplicated).
 */
export function executionArn(stateMachineArn: string, type: 'STANDARD' | 'EXPRESS', name: string): string {
  return type === 'STANDARD'
    ? stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`
    : stateMachineArn.replace(':stateMachine:', ':express:') + `:${name}:${randomUUID()}`;
}

export function stateMachineLogicalIds(template: CfnTemplate): string[] {
  return Object.entries(template.Resources)
    .filter(([, resource]) => resource.Type === 'AWS::StepFunctions::StateMachine')
    .map(([logicalId]) => logicalId);
}

/** What Ref/GetAtt of the template's state machines mean locally: Ref and Arn its local ARN, Name its local name. */
export function registerStateMachineReferences(template: CfnTemplate, references: ReferenceRegistry, identity: LocalIdentity): void {
  for (const [logicalId] of resourcesOfType(template, 'AWS::StepFunctions::StateMachine')) {
    const arn = localStateMachineArn(template, logicalId, identity);
    references.set(logicalId, arn, { Arn: arn, Name: localStateMachineName(template, logicalId) });
  }
}
