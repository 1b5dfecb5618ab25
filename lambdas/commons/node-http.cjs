/**
 * Bundled in place of `node:http` (PayflowFunction's esbuild alias): the same module object, taken the
 * way `require` takes it. An ESM `import ... from 'node:http'` makes Node build the module's ESM facade,
 * which reads every export, and on Node 22 some of them (WebSocket, MessageEvent, ...) are getters that
 * load the bundled undici: ~40 ms of every cold start, for exports no function uses.
 */
module.exports = process.getBuiltinModule('node:http');
