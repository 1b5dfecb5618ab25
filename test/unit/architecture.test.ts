// Tools live apart from the product (DESIGN §8): the local runner imports nothing from it — everything it
// knows of the application comes from the cloud assembly and its options — and no tool imports test code.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const PACKAGE_NAME = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string }).name;

/** Every .ts file under `folder` (relative to the project root), as absolute paths. */
function typeScriptFiles(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && entry.name.endsWith('.ts'))
    .map((entry) => join(entry.parentPath, entry.name));
}

/** The module specifiers a file imports: static imports, `export ... from`, `import()` and `import type`. */
function specifiersOf(file: string): string[] {
  return ts.preProcessFile(readFileSync(file, 'utf8'), true, true).importedFiles.map((imported) => imported.fileName);
}

/** Whether `path` is inside `folder` (relative to the project root). */
const inside = (folder: string, path: string) => {
  const from = relative(join(ROOT, folder), path);
  return from !== '' && from !== '..' && !from.startsWith(`..${sep}`) && !isAbsolute(from);
};

/**
 * The imports of `file` that leave `folder`: a relative path outside it, a subpath import of the product
 * (`#domain/`, `#adapters/`, `#commons/`, `#contract/`, any `#...` of package.json's "imports"), an absolute
 * path or the project's own package name. `node:` builtins and npm packages are fine.
 */
function importsLeaving(folder: string, file: string, specifiers: readonly string[]): string[] {
  return specifiers
    .filter((specifier) => {
      if (specifier.startsWith('.')) return !inside(folder, resolve(dirname(file), specifier));
      if (specifier.startsWith('#') || specifier.startsWith('/') || specifier.startsWith('file:')) return true;
      return specifier === PACKAGE_NAME || specifier.startsWith(`${PACKAGE_NAME}/`);
    })
    .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`);
}

describe('tools/local-runner imports nothing from the product', () => {
  const runnerFiles = typeScriptFiles('tools/local-runner');

  it('reads the whole runner', () => {
    expect(runnerFiles.length).toBeGreaterThan(30);
  });

  it('no file imports from outside tools/local-runner (lambdas/, lib/, contract/, client/, bin/, test/ ...) or a #subpath import', () => {
    expect(runnerFiles.flatMap((file) => importsLeaving('tools/local-runner', file, specifiersOf(file)))).toEqual([]);
  });

  it('the check catches what it is for', () => {
    const file = join(ROOT, 'tools/local-runner/event-source-mappings/stream-poller.ts');
    const specifiers = [
      '../../../lambdas/adapters/stream-record-shape.ts',
      '../../../lib/app.ts',
      '../../bench/events.ts',
      '#domain/money',
      '#adapters/stream-record-shape',
      '#commons/json-text',
      '#contract/errors',
      '/work/elsewhere.ts',
      `${PACKAGE_NAME}/lambdas/domain/money.ts`,
      // fine:
      './mapping.ts',
      '../template.ts',
      'node:crypto',
      '@aws-sdk/client-sqs',
      'aws-local-stepfunctions',
    ];
    expect(importsLeaving('tools/local-runner', file, specifiers).map((violation) => violation.split(' imports ')[1])).toEqual(specifiers.slice(0, 9));
  });
});

describe('tools/history reads the log text only', () => {
  it('imports nothing from outside tools/history (node: modules only)', () => {
    const files = typeScriptFiles('tools/history');
    expect(files.length).toBeGreaterThan(0);
    expect(files.flatMap((file) => importsLeaving('tools/history', file, specifiersOf(file)))).toEqual([]);
  });
});

describe('the tools import no test code', () => {
  it.each(['tools/local-runner', 'tools/bench', 'tools/reliability', 'tools/history'])('%s imports nothing from test/', (folder) => {
    const files = typeScriptFiles(folder);
    expect(files.length).toBeGreaterThan(0);
    const intoTests = files.flatMap((file) =>
      specifiersOf(file)
        .filter((specifier) => specifier.startsWith('.') && inside('test', resolve(dirname(file), specifier)))
        .map((specifier) => `${relative(ROOT, file)} imports ${specifier}`),
    );
    expect(intoTests).toEqual([]);
  });
});
