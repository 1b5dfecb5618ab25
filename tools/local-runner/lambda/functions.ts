/** The template's Lambda functions as the local runtime runs them: names, ARNs, bundles and environment. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { LocalIdentity } from '../identity.ts';
import type { TemplateValue } from '../intrinsics.ts';
import type { LocalReferences, ReferenceRegistry } from '../references.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';
import type { LocalFunction } from './runtime.ts';

/** A function's local name: its FunctionName when it is a plain string, else its logical id. */
function localFunctionName(template: CfnTemplate, logicalId: string): string {
  const name = template.Resources[logicalId]?.Properties?.FunctionName;
  return typeof name === 'string' ? name : logicalId;
}

/** What Ref/GetAtt of the template's functions mean locally: Ref its name, Arn its local ARN. */
export function registerFunctionReferences(template: CfnTemplate, references: ReferenceRegistry, identity: LocalIdentity): void {
  for (const [logicalId] of resourcesOfType(template, 'AWS::Lambda::Function')) {
    const functionName = localFunctionName(template, logicalId);
    references.set(logicalId, functionName, { Arn: `arn:aws:lambda:${identity.region}:${identity.accountId}:function:${functionName}` });
  }
}

/** The bundled module of a function: `<cdk.out>/<aws:asset:path>/index.mjs` (or the asset named by its S3 key). */
function functionEntryFile(cdkOut: string, logicalId: string, template: CfnTemplate): { entryFile: string; handlerExport: string } {
  const resource = template.Resources[logicalId]!;
  const props = resource.Properties ?? {};
  const handler = String(props.Handler ?? 'index.handler');
  const dot = handler.lastIndexOf('.');
  const [moduleName, handlerExport] = [handler.slice(0, dot), handler.slice(dot + 1)];
  const metadataPath = resource.Metadata?.['aws:asset:path'];
  const s3Key = props.Code?.S3Key;
  const assetDir =
    typeof metadataPath === 'string'
      ? join(cdkOut, metadataPath)
      : typeof s3Key === 'string'
        ? join(cdkOut, `asset.${s3Key.replace(/\.zip$/, '')}`)
        : undefined;
  if (!assetDir) throw new Error(`${logicalId}: no bundled asset (inline code and container images are not supported locally)`);
  for (const extension of ['.mjs', '.js', '.cjs']) {
    const entryFile = join(assetDir, `${moduleName}${extension}`);
    if (existsSync(entryFile)) return { entryFile, handlerExport };
  }
  throw new Error(`${logicalId}: ${moduleName}.mjs/.js not found in ${assetDir}`);
}

export interface LocalFunctionsOptions {
  /** The cloud assembly holding the bundles. */
  cdkOut: string;
  /** Resolves the environment variables (after registerFunctionReferences and every resource they mention). */
  references: LocalReferences;
  /** What the runner gives every function over the template's variables: region, credentials, local endpoints. */
  runnerEnvironment: Record<string, string>;
  /** Extra environment over both (e.g. POWERTOOLS_LOG_LEVEL). */
  functionEnvironment?: Record<string, string>;
  /** Concurrent executions per function (default: its reserved concurrency, else 10). */
  maxConcurrencyPerFunction?: number;
}

/** Every function of the template, ready for the local runtime; a runtime other than Node.js is refused. */
export function localFunctions(template: CfnTemplate, options: LocalFunctionsOptions): LocalFunction[] {
  const { references } = options;
  return resourcesOfType(template, 'AWS::Lambda::Function').map(([logicalId, resource]) => {
    const props = resource.Properties ?? {};
    const runtime = String(props.Runtime ?? '');
    if (!runtime.startsWith('nodejs')) throw new Error(`${logicalId}: runtime ${runtime} is not supported locally (Node.js only)`);
    const variables = references.resolve((props.Environment?.Variables ?? {}) as TemplateValue) as Record<string, TemplateValue>;
    return {
      logicalId,
      functionName: localFunctionName(template, logicalId),
      arn: String(references.getAtt(logicalId, 'Arn')),
      ...functionEntryFile(options.cdkOut, logicalId, template),
      timeoutSeconds: Number(props.Timeout ?? 3),
      memoryMb: Number(props.MemorySize ?? 128),
      environment: {
        ...Object.fromEntries(Object.entries(variables).map(([name, value]) => [name, String(value)])),
        ...options.runnerEnvironment,
        ...options.functionEnvironment,
      },
      maxConcurrency: options.maxConcurrencyPerFunction ?? Number(props.ReservedConcurrentExecutions ?? 10),
    };
  });
}
