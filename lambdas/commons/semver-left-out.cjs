/**
 * Bundled in place of `semver` (PayflowFunction's esbuild alias). Its only importer was the X-Ray SDK's patcher
 * for the AWS SDK v2 (`captureAWS`), which Payflow never calls (the functions use SDK v3 clients, captured with
 * `tracer.captureAWSv3Client`) and which lambdas/commons/xray-sdk-core.cjs now leaves out of the bundles; kept so
 * that semver's regular expressions (~8 ms of a cold start) stay out if anything brings that patcher back.
 * test/unit/commons/bundle-aliases.test.ts checks that no bundle imports either.
 */
module.exports = {
  gte() {
    throw new Error('semver is left out of the bundles (lambdas/commons/semver-left-out.cjs): AWS SDK v2 capture is not supported');
  },
};
