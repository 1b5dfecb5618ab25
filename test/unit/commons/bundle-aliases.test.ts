import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { BUNDLE_ALIASES } from '../../../lib/constructs/payflow-function.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('the modules every bundle takes from elsewhere (BUNDLE_ALIASES)', () => {
  it('exist', () => {
    for (const [name, path] of Object.entries(BUNDLE_ALIASES)) expect(existsSync(path), name).toBe(true);
  });

  it('node:http is the very module require gives', () => {
    expect(require(BUNDLE_ALIASES['node:http']!)).toBe(require('node:http'));
  });

  /** Every handler in one bundle, with the construct's aliases: what the functions' bundles can contain (built once). */
  let allHandlers: ReturnType<typeof bundleAllHandlers> | undefined;
  const allHandlersMetafile = () => (allHandlers ??= bundleAllHandlers());
  async function bundleAllHandlers() {
    const handlers = sourceFiles(join(ROOT, 'lambdas/handlers'));
    const { metafile } = await build({
      stdin: { contents: handlers.map((file, i) => `export * as handler${i} from ${JSON.stringify(file)};`).join('\n'), resolveDir: ROOT, loader: 'ts' },
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      nodePaths: [join(ROOT, 'node_modules')],
      alias: { ...BUNDLE_ALIASES },
      metafile: true,
      logLevel: 'error',
    });
    const inputs = Object.keys(metafile.inputs).map((path) => path.replace(/^.*node_modules\//, ''));
    const importersOf = (alias: string) => {
      const stub = relative(ROOT, BUNDLE_ALIASES[alias]!);
      return Object.entries(metafile.inputs)
        .filter(([, input]) => input.imports.some((imported) => imported.path === stub))
        .map(([path]) => path.replace(/^.*node_modules\//, ''));
    };
    return { inputs, importersOf };
  }

  it('the X-Ray SDK stand-in copies the Lambda set-up of the installed SDK version (a transitive ^ range: an upgrade must re-compare it)', () => {
    const standIn = readFileSync(BUNDLE_ALIASES['aws-xray-sdk-core']!, 'utf8');
    const copiedFrom = /aws-xray-sdk-core (\d+\.\d+\.\d+), dist\/lib\/env\/aws_lambda\.js/.exec(standIn)?.[1];
    const installed = (JSON.parse(readFileSync(join(ROOT, 'node_modules/aws-xray-sdk-core/package.json'), 'utf8')) as { version: string }).version;
    expect(copiedFrom).toBe(installed);
  });

  it('the X-Ray SDK stand-in has every SDK function the Powertools Tracer takes, and what it leaves out throws', () => {
    const tracerSources = ['lib/esm/Tracer.js', 'lib/esm/provider/ProviderService.js'].map((file) =>
      readFileSync(join(ROOT, 'node_modules/@aws-lambda-powertools/tracer', file), 'utf8'),
    );
    const taken = tracerSources.flatMap((source) => [...source.matchAll(/const \{([^}]+)\} = xraySdk;/g)].flatMap((match) => match[1]!.split(',')))
      .map((entry) => entry.split(':')[0]!.trim())
      .filter(Boolean);
    expect(taken).toEqual(expect.arrayContaining(['captureAWSv3Client', 'getSegment', 'setSegment', 'Segment', 'Subsegment', 'captureHTTPsGlobal']));
    const sdk = require(BUNDLE_ALIASES['aws-xray-sdk-core']!) as Record<string, unknown>;
    const real = require('aws-xray-sdk-core') as Record<string, unknown>;
    // The Tracer's AWS SDK v2 methods are deprecated and never called here (below): those two may throw.
    for (const name of taken.filter((name) => name !== 'captureAWS' && name !== 'captureAWSClient')) {
      expect(typeof sdk[name], name).toBe('function');
      expect((sdk[name] as { name: string }).name, name).not.toBe('leftOutOfTheBundles');
      expect(sdk[name], name).toBe(real[name]);
    }
    expect(() => (sdk.captureAWS as () => void)()).toThrow(/left out of the bundles/);
    expect(() => sdk.middleware).toThrow(/left out of the bundles/);
  });

  it('no function captures an AWS SDK v2 client, and no bundle holds the X-Ray SDK\'s v2 patcher, plugins or sampling pollers, or semver', async () => {
    const lambdas = sourceFiles(join(ROOT, 'lambdas')).map((file) => readFileSync(file, 'utf8'));
    expect(lambdas.filter((source) => /\bcaptureAWS(Client)?\(/.test(source))).toEqual([]);
    expect(() => (require(BUNDLE_ALIASES.semver!) as { gte: (a: string, b: string) => boolean }).gte('2.8.0', '2.7.15')).toThrow(/left out/);

    const { inputs, importersOf } = await allHandlersMetafile();
    expect(inputs).toEqual(expect.arrayContaining(['aws-xray-sdk-core/dist/lib/patchers/aws3_p.js', 'aws-xray-sdk-core/dist/lib/segments/segment.js']));
    expect(inputs.filter((path) => /aws-xray-sdk-core\/dist\/lib\/(aws-xray|patchers\/aws_p|patchers\/promise_p|segments\/plugins\/|middleware\/)|^semver\//.test(path))).toEqual([]);
    expect(importersOf('semver')).toEqual([]);
  });

  it('assert: only cls-hooked imports it, and it calls assert.ok alone, which the stand-in keeps', async () => {
    const { importersOf } = await allHandlersMetafile();
    expect(importersOf('assert')).toEqual(['cls-hooked/context.js']);
    const clsHooked = readFileSync(join(ROOT, 'node_modules/cls-hooked/context.js'), 'utf8');
    expect(new Set([...clsHooked.matchAll(/\bassert\.(\w+)/g)].map((match) => match[1]))).toEqual(new Set(['ok']));

    const assert = require(BUNDLE_ALIASES.assert!) as { ok: (value: unknown, message?: string) => void; equal: () => void };
    expect(() => assert.ok(1, 'fine')).not.toThrow();
    expect(() => assert.ok(0, 'context must be provided for exiting')).toThrow(
      expect.objectContaining({ name: 'AssertionError', code: 'ERR_ASSERTION', message: 'context must be provided for exiting' }),
    );
    expect(() => assert.equal()).toThrow(/left out of the bundles/);
  });
});
