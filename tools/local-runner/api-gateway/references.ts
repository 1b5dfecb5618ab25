/** What the template's API Gateway resources are called locally: the RestApi's id, its root resource, and what Ref/GetAtt of each resolve to. */
import { createHash } from 'node:crypto';
import type { ReferenceRegistry } from '../references.ts';
import type { CfnTemplate } from '../template.ts';

export const rootResourceId = (apiId: string) => `${apiId}-root`;

/**
 * What Ref/GetAtt of the template's API Gateway resources mean locally: a RestApi is its local id
 * (GetAtt RootResourceId its root), a Stage its name, any other API resource its logical id (an
 * ApiKey's id is then what handlers see as `requestContext.identity.apiKeyId`).
 */
export function registerApiGatewayReferences(template: CfnTemplate, references: ReferenceRegistry): void {
  for (const [logicalId, resource] of Object.entries(template.Resources)) {
    if (!resource.Type.startsWith('AWS::ApiGateway::')) continue;
    if (resource.Type === 'AWS::ApiGateway::RestApi') {
      references.set(logicalId, localApiId(logicalId), { RootResourceId: rootResourceId(localApiId(logicalId)) });
    } else if (resource.Type === 'AWS::ApiGateway::Stage') {
      references.set(logicalId, String(resource.Properties?.StageName));
    } else {
      references.set(logicalId, logicalId);
    }
  }
}

/** A stable, API-Gateway-looking id (10 lower-case alphanumerics) for a logical id. */
export function localApiId(logicalId: string): string {
  const digest = createHash('sha256').update(logicalId).digest();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return Array.from(digest.subarray(0, 10), (byte) => alphabet[byte % alphabet.length]).join('');
}
