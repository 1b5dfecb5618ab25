import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Tracer } from '../../../lambdas/commons/platform-tracer.ts';

const LAMBDAS = resolve(import.meta.dirname, '../../../lambdas');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

describe('the platform tracer bundled when payflow:sdkTracing is false', () => {
  it('has every Tracer method the functions call', () => {
    const called = new Set(sourceFiles(LAMBDAS).flatMap((file) => [...readFileSync(file, 'utf8').matchAll(/\btracer\.(\w+)\(/g)].map((m) => m[1]!)));
    expect(called.size).toBeGreaterThan(0);
    const tracer = new Tracer() as unknown as Record<string, unknown>;
    for (const method of called) expect(typeof tracer[method], `Tracer.${method}`).toBe('function');
  });

  it('hands clients back untouched and has no segment', () => {
    const client = { send: () => 'sent' };
    const tracer = new Tracer();
    expect(tracer.captureAWSv3Client(client)).toBe(client);
    expect(tracer.getSegment()).toBeUndefined();
  });
});
