/**
 * Bundled in place of `aws-xray-sdk-core`'s entry point (PayflowFunction's esbuild alias): the same SDK object,
 * built from the same modules, minus what the Powertools Tracer never reaches and the entry point loads anyway —
 * the AWS SDK v2 patcher, the promise patcher, the EC2/ECS/Elastic Beanstalk plugins and SQL data. The segments, the Lambda facade segment, the context, the
 * SDK v3 patcher (the per-call subsegments), the HTTP patcher and the emitter are the SDK's own modules.
 * Whatever is left out throws if called (test/unit/commons/bundle-aliases.test.ts checks the Tracer's needs;
 * test/integration/bundle-tracing.test.ts that the subsegments still reach the daemon).
 */
const SDK = '../../node_modules/aws-xray-sdk-core/';
const contextUtils = require('../../node_modules/aws-xray-sdk-core/dist/lib/context_utils.js');
const logging = require('../../node_modules/aws-xray-sdk-core/dist/lib/logger.js');
const segmentUtils = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/segment_utils.js');
const utils = require('../../node_modules/aws-xray-sdk-core/dist/lib/utils.js');
const LambdaEnv = require('../../node_modules/aws-xray-sdk-core/dist/lib/env/aws_lambda.js');
const capture = require('../../node_modules/aws-xray-sdk-core/dist/lib/capture.js');
const awsAttributes = require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/attributes/aws.js');
const httpPatcher = require('../../node_modules/aws-xray-sdk-core/dist/lib/patchers/http_p.js');
const pkginfo = require('../../node_modules/aws-xray-sdk-core/package.json');

const leftOut = (name) =>
  function leftOutOfTheBundles() {
    throw new Error(`AWSXRay.${name} is left out of the bundles (lambdas/commons/xray-sdk-core.cjs, from ${SDK}dist/lib/aws-xray.js)`);
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
  middleware: require('../../node_modules/aws-xray-sdk-core/dist/lib/middleware/mw_utils.js'),
  getNamespace: contextUtils.getNamespace,
  resolveSegment: contextUtils.resolveSegment,
  resolveManualSegmentParams: contextUtils.resolveManualSegmentParams,
  getSegment: contextUtils.getSegment,
  setSegment: contextUtils.setSegment,
  isAutomaticMode: contextUtils.isAutomaticMode,
  enableAutomaticMode: contextUtils.enableAutomaticMode,
  enableManualMode: contextUtils.enableManualMode,
  setContextMissingStrategy: contextUtils.setContextMissingStrategy,
  Segment: require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/segment.js'),
  Subsegment: require('../../node_modules/aws-xray-sdk-core/dist/lib/segments/attributes/subsegment.js'),
  SegmentUtils: segmentUtils,
};
AWSXRay.middleware.IncomingRequestData = require('../../node_modules/aws-xray-sdk-core/dist/lib/middleware/incoming_request_data.js');

// As the SDK's entry point does at import: what every segment reports about the SDK, and Lambda's facade segment.
segmentUtils.setSDKData({ sdk: 'X-Ray for Node.js', sdk_version: pkginfo.version ?? UNKNOWN, package: pkginfo.name ?? UNKNOWN });
segmentUtils.setServiceData({
  runtime: process.release?.name ?? UNKNOWN,
  runtime_version: process.version,
  version: process.env.npm_package_version || UNKNOWN,
  name: process.env.npm_package_name || UNKNOWN,
});
if (process.env.LAMBDA_TASK_ROOT) LambdaEnv.init();

module.exports = AWSXRay;
