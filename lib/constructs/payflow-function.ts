import { Duration, Stack, Validations, type CfnElement } from 'aws-cdk-lib';
import type { ITable } from 'aws-cdk-lib/aws-dynamodb';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, LogGroupGrants, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { resolve } from 'node:path';
import { functionEnvironment, type FunctionSetting } from '../../lambdas/commons/environment.ts';
import { readPayflowConfig } from '../payflow-config.ts';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

/**
 * Modules every bundle takes from elsewhere (esbuild `--alias`), each file saying why: cold start is paid by
 * users (DESIGN §9 budgets every import against a minimal DynamoDB-client bundle built with these too).
 */
export const BUNDLE_ALIASES: Readonly<Record<string, string>> = {
  '@aws-sdk/credential-provider-node': resolve(PROJECT_ROOT, 'lambdas/commons/lambda-credentials.ts'),
  'aws-xray-sdk-core': resolve(PROJECT_ROOT, 'lambdas/commons/xray-sdk-core.cjs'),
  assert: resolve(PROJECT_ROOT, 'lambdas/commons/assert-ok-only.cjs'),
  'node:http': resolve(PROJECT_ROOT, 'lambdas/commons/node-http.cjs'),
  semver: resolve(PROJECT_ROOT, 'lambdas/commons/semver-left-out.cjs'),
};

export interface PayflowFunctionProps extends Omit<NodejsFunctionProps, 'entry'> {
  /** Handler file under lambdas/handlers, e.g. `api/create-payment.ts`. */
  readonly handlerPath: string;
  /** What the handler reads with `setting(...)`: written to the environment under the names both sides share. */
  readonly settings?: Partial<Record<FunctionSetting, string>>;
}

/**
 * A NodejsFunction with the project's defaults: Node 22 on arm64, one minified ESM bundle, JSON logs to
 * its own log group with bounded retention, X-Ray tracing, and an execution role that may write only to
 * that log group (instead of AWSLambdaBasicExecutionRole's every log group).
 */
export class PayflowFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PayflowFunctionProps) {
    const { handlerPath, settings = {}, environment, bundling, ...rest } = props;
    const logGroup = props.logGroup ?? new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH });
    const role = props.role ?? new Role(scope, `${id}Role`, { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    super(scope, id, {
      entry: resolve(PROJECT_ROOT, 'lambdas/handlers', handlerPath),
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: resolve(PROJECT_ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      memorySize: 256,
      timeout: Duration.seconds(10),
      tracing: Tracing.ACTIVE,
      loggingFormat: LoggingFormat.JSON,
      ...rest,
      logGroup,
      role,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'payflow',
        POWERTOOLS_METRICS_NAMESPACE: 'Payflow',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...environment,
        ...functionEnvironment(settings),
      },
      bundling: {
        format: OutputFormat.ESM,
        target: 'node22',
        minify: true,
        sourceMap: false,
        mainFields: ['module', 'main'],
        // Some dependencies still call require(); ESM bundles need it defined.
        banner: "import { createRequire as __payflowCreateRequire } from 'module'; const require = __payflowCreateRequire(import.meta.url);",
        metafile: false,
        // lambdas/commons/processor.ts branches on it: the processor a stack does not use is left out of its bundles.
        define: { 'process.env.PAYFLOW_PROCESSOR': JSON.stringify(readPayflowConfig(scope).processor) },
        // The SDK is bundled, not taken from the runtime: the versions package-lock.json pins are the
        // ones that run, tree-shaken, and the bundle runs the same locally as in Lambda.
        externalModules: [],
        esbuildArgs: {
          ...Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([name, path]) => [`--alias:${name}`, path])),
          ...(readPayflowConfig(scope).sdkTracing
            ? {}
            : { '--alias:@aws-lambda-powertools/tracer': resolve(PROJECT_ROOT, 'lambdas/commons/platform-tracer.ts') }),
        },
        ...bundling,
      },
    });
    LogGroupGrants.fromLogGroup(logGroup).write(role);

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-L1',
      reason: 'The project pins nodejs22.x deliberately (the runtime it is built, bundled and tested with; Lambda supports it until 2027).',
    });
    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'X-Ray tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level permissions. test/cdk/security.test.ts asserts that no other action is granted on Resource *.',
    });
  }

  /**
   * Grants exactly `actions` on the items of `table` (or on one of its indexes, for Query): what the function's
   * code calls, no more. The local twin (`npm run iam:report`) shows what each role used, and
   * `npm run iam:mutations` that removing any of these breaks the flow. A transaction needs the action of each
   * of its items (Put → PutItem, Update → UpdateItem, ...), not a TransactWriteItems action.
   */
  grantTableActions(table: ITable, actions: readonly `dynamodb:${string}`[], index?: string): void {
    this.addToRolePolicy(new PolicyStatement({ actions: [...actions], resources: [index ? `${table.tableArn}/index/${index}` : table.tableArn] }));
  }
}
