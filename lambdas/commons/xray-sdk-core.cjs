/**
 * Bundled in place of `aws-xray-sdk-core`'s entry point (PayflowFunction's esbuild alias): the SDK object the
 * Powertools Tracer uses, built from the SDK's own modules (segments, context, the SDK v3 patcher that makes the
 * per-call subsegments, the HTTP patcher, the emitter), minus what a Lambda function never reaches and the entry
 * point loads anyway: the AWS SDK v2 and promise patchers, the EC2/ECS/Elastic Beanstalk plugins, SQL data, and
 * the middlewares with their centralized sampling (rule and target pollers, the sampling service connector),
 * which the SDK itself turns off in Lambda (the facade segment decides nothing: Lambda samples). Together
 * ~16 KB of the bundles and ~0.05x of a cold start (DESIGN §9). What is left out throws if called.
 * test/unit/commons/bundle-aliases.test.ts checks that the Tracer finds everything it takes from the SDK;
 * test/integration/bundle-tracing.test.ts that the subsegments still reach the daemon under the invocation's trace.
 *
 * The Lambda set-up below is the SDK's own (aws-xray-sdk-core 3.12.0, dist/lib/env/aws_lambda.js, Apache-2.0),
 * without its call to the middlewares' sampler: that module is what pulls the sampling machinery in.
 */
const contextUtils = require('../../node_modules/aws-xray-sdk-core/dist/lib/context_utils.js');
const logging = require('../../node_modules/aws-xray-sdk-core/dist/lib/logger.js');
const segmentUtils = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/segment_utils.js');
const utils = require('../../node_modules/aws-xray-sdk-core/dist/lib/utils.js');
const capture = require('../../node_modules/aws-xray-sdk-core/dist/lib/capture.js');
const awsAttributes = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/attributes/aws.js');
const httpPatcher = require('../../node_modules/aws-xray-sdk-core/dist/lib/patchers/http_p.js');
const Segment = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/segment.js');
const SegmentEmitter = require('../../node_modules/aws-xray-sdk-core/dist/lib/segment_emitter.js');
const TraceID = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/attributes/trace_id.js');
const pkginfo = require('../../node_modules/aws-xray-sdk-core/package.json');

const leftOut = (name) =>
  function leftOutOfTheBundles() {
    throw new Error(`AWSXRay.${name} is left out of the bundles (lambdas/commons/xray-sdk-core.cjs): Lambda functions here use the Powertools Tracer only`);
  };

const UNKNOWN = 'unknown';

const AWSXRay = {
  plugins: { EC2Plugin: leftOut('plugins.EC2Plugin'), ECSPlugin: leftOut('plugins.ECSPlugin'), ElasticBeanstalkPlugin: leftOut('plugins.ElasticBeanstalkPlugin') },
  config: leftOut('config'),
  setAWSWhitelist: awsAttributes.setAWSWhitelist,
  appendAWSWhitelist: awsAttributes.appendAWSWhitelist,
  setStreamingThreshold: segmentUtils.setStreamingThreshold,
  setLogger: logging.setLogger,
  getLogger: logging.getLogger,
  setDaemonAddress: require('../../node_modules/aws-xray-sdk-core/dist/lib/daemon_config.js').setDaemonAddress,
  captureFunc: capture.captureFunc,
  captureAsyncFunc: capture.captureAsyncFunc,
  captureCallbackFunc: capture.captureCallbackFunc,
  captureAWS: leftOut('captureAWS'),
  captureAWSClient: leftOut('captureAWSClient'),
  captureAWSv3Client: require('../../node_modules/aws-xray-sdk-core/dist/lib/patchers/aws3_p.js').captureAWSClient,
  captureHTTPs: httpPatcher.captureHTTPs,
  captureHTTPsGlobal: httpPatcher.captureHTTPsGlobal,
  capturePromise: leftOut('capturePromise'),
  utils,
  database: { SqlData: leftOut('database.SqlData') },
  get middleware() {
    return leftOut('middleware')();
  },
  getNamespace: contextUtils.getNamespace,
  resolveSegment: contextUtils.resolveSegment,
  resolveManualSegmentParams: contextUtils.resolveManualSegmentParams,
  getSegment: contextUtils.getSegment,
  setSegment: contextUtils.setSegment,
  isAutomaticMode: contextUtils.isAutomaticMode,
  enableAutomaticMode: contextUtils.enableAutomaticMode,
  enableManualMode: contextUtils.enableManualMode,
  setContextMissingStrategy: contextUtils.setContextMissingStrategy,
  Segment,
  Subsegment: require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/attributes/subsegment.js'),
  SegmentUtils: segmentUtils,
};

let xAmznTraceIdPrev = null;

/** The SDK's Lambda set-up (env/aws_lambda.js `init`), less `mwUtils.disableCentralizedSampling()`: no sampler is loaded to turn off. */
function initLambda() {
  contextUtils.enableManualMode = function () {
    logging.getLogger().warn('AWS Lambda does not support AWS X-Ray manual mode.');
  };
  SegmentEmitter.disableReusableSocket();
  segmentUtils.setStreamingThreshold(0);
  const namespace = contextUtils.getNamespace();
  namespace.enter(namespace.createContext());
  contextUtils.setSegment(facadeSegment());
}

/** The SDK's Lambda facade segment (env/aws_lambda.js `facadeSegment`), unchanged. */
function facadeSegment() {
  const segment = new Segment('facade');
  const whitelistFcn = ['addNewSubsegment', 'addSubsegment', 'removeSubsegment', 'toString', 'addSubsegmentWithoutSampling', 'addNewSubsegmentWithoutSampling'];
  const silentFcn = ['incrementCounter', 'decrementCounter', 'isClosed', 'close', 'format', 'flush'];
  const xAmznTraceId = process.env._X_AMZN_TRACE_ID;
  for (const key in segment) {
    if (typeof segment[key] === 'function' && whitelistFcn.indexOf(key) === -1) {
      if (silentFcn.indexOf(key) === -1) {
        segment[key] = function facade() {
          logging.getLogger().warn('Function "' + key + '" cannot be called on an AWS Lambda segment. Please use a subsegment to record data.');
        };
      } else {
        segment[key] = function facade() {};
      }
    }
  }
  segment.trace_id = TraceID.Invalid().toString();
  segment.isClosed = function () {
    return true;
  };
  segment.in_progress = false;
  segment.counter = 1;
  segment.notTraced = true;
  segment.facade = true;
  segment.reset = function reset() {
    this.trace_id = TraceID.Invalid().toString();
    this.id = '00000000';
    delete this.subsegments;
    this.notTraced = true;
  };
  segment.resolveLambdaTraceData = function resolveLambdaTraceData() {
    const traceIdFromInvokeStore = globalThis.awslambda?.InvokeStore?.getXRayTraceId();
    const xAmznLambda = traceIdFromInvokeStore ?? process.env._X_AMZN_TRACE_ID;
    if (xAmznLambda) {
      // Resets the trace data whenever a new trace header is read, not to leak data between invocations.
      if (xAmznLambda != xAmznTraceIdPrev) {
        this.reset();
        if (utils.LambdaUtils.populateTraceData(segment, xAmznLambda)) xAmznTraceIdPrev = xAmznLambda;
      }
    } else {
      this.reset();
      contextUtils.contextMissingStrategy.contextMissing(
        'Missing AWS Lambda trace data for X-Ray. Ensure Active Tracing is enabled and no subsegments are created outside the function handler.',
      );
    }
  };
  // Valid trace data at start-up is unlikely (the cold start runs before any invocation), but taken if there.
  if (utils.LambdaUtils.validTraceData(xAmznTraceId)) {
    if (utils.LambdaUtils.populateTraceData(segment, xAmznTraceId)) xAmznTraceIdPrev = xAmznTraceId;
  }
  return segment;
}

// As the SDK's entry point does at import: what every segment reports about the SDK, and Lambda's facade segment.
segmentUtils.setSDKData({ sdk: 'X-Ray for Node.js', sdk_version: pkginfo.version ?? UNKNOWN, package: pkginfo.name ?? UNKNOWN });
segmentUtils.setServiceData({
  runtime: process.release?.name ?? UNKNOWN,
  runtime_version: process.version,
  version: process.env.npm_package_version || UNKNOWN,
  name: process.env.npm_package_name || UNKNOWN,
});
if (process.env.LAMBDA_TASK_ROOT) initLambda();

module.exports = AWSXRay;
