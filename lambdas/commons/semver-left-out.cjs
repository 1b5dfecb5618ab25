/**
 * Bundled in place of `semver` (PayflowFunction's esbuild alias). Its only importer in the bundles is the
 * X-Ray SDK's patcher for the AWS SDK v2 (`captureAWS`), which Payflow never calls: the functions use SDK v3
 * clients, captured with `tracer.captureAWSv3Client` (test/unit/commons/bundle-aliases.test.ts checks both).
 * semver's regular expressions, built at import, would cost every cold start ~8 ms.
 */
module.exports = {
  gte() {
    throw new Error('semver is left out of the bundles (lambdas/commons/semver-left-out.cjs): AWS SDK v2 capture is not supported');
  },
};
