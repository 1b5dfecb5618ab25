/**
 * Bundled in place of `assert` (PayflowFunction's esbuild alias). Its only importer in the bundles is cls-hooked
 * (the X-Ray SDK's context), which calls `assert.ok` alone; Node's `assert` module costs every traced cold start
 * ~7 ms to load (its error classes, comparisons and diff printer). Any other assert function throws here
 * (test/unit/commons/bundle-aliases.test.ts checks who imports this and what they call).
 */
class AssertionError extends Error {
  constructor(message) {
    super(message ?? 'The expression evaluated to a falsy value');
    this.name = 'AssertionError';
    this.code = 'ERR_ASSERTION';
  }
}

function ok(value, message) {
  if (!value) throw message instanceof Error ? message : new AssertionError(message);
}

const leftOut = (name) => () => {
  throw new Error(`assert.${name} is left out of the bundles (lambdas/commons/assert-ok-only.cjs): only assert.ok is bundled`);
};

module.exports = Object.assign(ok, { ok, AssertionError }, Object.fromEntries(
  ['equal', 'notEqual', 'deepEqual', 'notDeepEqual', 'deepStrictEqual', 'notDeepStrictEqual', 'strictEqual', 'notStrictEqual', 'throws', 'doesNotThrow', 'rejects', 'doesNotReject', 'match', 'doesNotMatch', 'fail', 'ifError', 'partialDeepStrictEqual']
    .map((name) => [name, leftOut(name)]),
));
module.exports.strict = module.exports;
