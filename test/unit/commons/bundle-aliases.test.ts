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

  it('semver is left out: the X-Ray SDK\'s AWS SDK v2 patcher is its only importer, and no function captures an SDK v2 client', async () => {
    expect(() => (require(BUNDLE_ALIASES.semver!) as { gte: (a: string, b: string) => boolean }).gte('2.8.0', '2.7.15')).toThrow(/left out/);
    const lambdas = sourceFiles(join(ROOT, 'lambdas')).map((file) => readFileSync(file, 'utf8'));
    expect(lambdas.filter((source) => /\bcaptureAWS(Client)?\(/.test(source))).toEqual([]);

    // Every handler in one bundle, with the construct's aliases: who imports the stand-in?
    const handlers = sourceFiles(join(ROOT, 'lambdas/handlers'));
    const { metafile } = await build({
      stdin: { contents: handlers.map((file, i) => `export * as handler${i} from ${JSON.stringify(file)};`).join('\n'), resolveDir: ROOT, loader: 'ts' },
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      mainFields: ['module', 'main'],
      alias: { ...BUNDLE_ALIASES },
      metafile: true,
      logLevel: 'error',
    });
    const stub = relative(ROOT, BUNDLE_ALIASES.semver!);
    const importers = Object.entries(metafile.inputs)
      .filter(([, input]) => input.imports.some((imported) => imported.path === stub))
      .map(([path]) => path.replace(/^.*node_modules\//, ''));
    expect(importers).toEqual(['aws-xray-sdk-core/dist/lib/patchers/aws_p.js']);
  });
});
