import { Duration } from 'aws-cdk-lib';
import { Architecture, LoggingFormat, Runtime, Tracing } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat, type NodejsFunctionProps } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { resolve } from 'node:path';

const PROJECT_ROOT = resolve(import.meta.dirname, '../..');

export interface PayflowFunctionProps extends Omit<NodejsFunctionProps, 'entry'> {
  /** Handler file under lambdas/handlers, e.g. `api/create-payment.ts`. */
  readonly handlerPath: string;
}

/** A NodejsFunction with the project's defaults: Node 22 on arm64, one minified ESM bundle, JSON logs, tracing, bounded log retention. */
export class PayflowFunction extends NodejsFunction {
  constructor(scope: Construct, id: string, props: PayflowFunctionProps) {
    const { handlerPath, environment, bundling, ...rest } = props;
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
      logGroup: new LogGroup(scope, `${id}Logs`, { retention: RetentionDays.ONE_MONTH }),
      ...rest,
      environment: {
        POWERTOOLS_SERVICE_NAME: 'payflow',
        POWERTOOLS_METRICS_NAMESPACE: 'Payflow',
        POWERTOOLS_LOG_LEVEL: 'INFO',
        ...environment,
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
        ...bundling,
      },
    });
  }
}
