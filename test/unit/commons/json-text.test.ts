import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { firstDuplicateKey } from '../../../lambdas/commons/json-text.ts';

describe('firstDuplicateKey', () => {
  it.each([
    ['{}', undefined],
    ['[]', undefined],
    ['"a"', undefined],
    ['12', undefined],
    ['{"a":1,"b":2}', undefined],
    ['{"amount":1,"amount":1000}', ['amount']],
    ['{"a":1,"b":{"a":2}}', undefined],
    ['{"a":{"x":1},"b":{"x":2}}', undefined],
    ['{"metadata":{"k":"1","k":"2"}}', ['metadata', 'k']],
    ['{"a":{"b":{"c":1,"c":2}}}', ['a', 'b', 'c']],
    ['{"items":[{"x":1},{"x":1,"x":2}]}', ['items', 'x']],
    ['[{"x":1,"x":2}]', ['x']],
    ['{"a":"x","a":"y"}', ['a']],
    // Keys compare decoded: an escape is the same key.
    ['{"amount":1,"\\u0061mount":2}', ['amount']],
    ['{"a\\"b":1,"a\\u0022b":2}', ['a"b']],
    ['{"\\\\":1,"\\u005c":2}', ['\\']],
    ['{"a":1,"A":2}', undefined],
    // Strings that look like structure are not structure.
    ['{"a":"{\\"a\\":1,\\"a\\":2}","b":"]},"}', undefined],
    ['{"a":"\\\\","a":1}', ['a']],
    ['{"":1,"":2}', ['']],
    ['{"__proto__":1,"__proto__":2}', ['__proto__']],
    [' { "a" : [ 1 , { "b" : 2 } ] , "c" : { } , "a" : null } ', ['a']],
    // The first duplicate in the text wins.
    ['{"a":{"z":1,"z":2},"a":3}', ['a', 'z']],
    ['{"a":1,"a":{"z":1,"z":2}}', ['a']],
  ])('%s → %j', (text, expected) => {
    JSON.parse(text); // every case is valid JSON
    expect(firstDuplicateKey(text)).toEqual(expected);
  });

  it('walks deep nesting without recursion', () => {
    const depth = 20_000;
    const deep = `${'{"a":['.repeat(depth)}1${']}'.repeat(depth)}`;
    expect(firstDuplicateKey(deep)).toBeUndefined();
    const deepDuplicate = `${'{"a":['.repeat(depth)}{"x":1,"x":2}${']}'.repeat(depth)}`;
    expect(firstDuplicateKey(deepDuplicate)).toEqual([...Array(depth).fill('a'), 'x']);
  });

  it('property: JSON.stringify never produces a duplicate, whatever the value and indentation', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom(undefined, 0, 2, '\t'), (value, indent) => {
        expect(firstDuplicateKey(JSON.stringify(value, null, indent))).toBeUndefined();
      }),
      { numRuns: 500 },
    );
  });

  // Objects written entry by entry, so that they can have a key twice; keys sometimes spelled with \u escapes.
  type Tree = { kind: 'object'; entries: Array<{ key: string; escaped: boolean; value: Tree }> } | { kind: 'array'; items: Tree[] } | { kind: 'leaf'; value: unknown };
  const key = fc.oneof(fc.constantFrom('a', 'b', 'amount', '"', '\\', 'é', ''), fc.string({ maxLength: 4, unit: 'binary' }));
  const { tree } = fc.letrec<{ tree: Tree }>((tie) => ({
    tree: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.record({ kind: fc.constant('leaf' as const), value: fc.oneof(fc.string({ unit: 'binary', maxLength: 6 }), fc.integer(), fc.boolean(), fc.constant(null)) }),
      fc.record({ kind: fc.constant('object' as const), entries: fc.array(fc.record({ key, escaped: fc.boolean(), value: tie('tree') }), { maxLength: 5 }) }),
      fc.record({ kind: fc.constant('array' as const), items: fc.array(tie('tree'), { maxLength: 4 }) }),
    ),
  }));
  const escapedKey = (text: string) => `"${Array.from({ length: text.length }, (_, i) => `\\u${text.charCodeAt(i).toString(16).padStart(4, '0')}`).join('')}"`;
  const write = (node: Tree): string => {
    if (node.kind === 'leaf') return JSON.stringify(node.value);
    if (node.kind === 'array') return `[${node.items.map(write).join(' , ')}]`;
    return `{${node.entries.map((entry) => `${entry.escaped ? escapedKey(entry.key) : JSON.stringify(entry.key)}:${write(entry.value)}`).join(',')}}`;
  };
  /** The reference: the first key seen twice in one object, in document order. */
  const reference = (node: Tree, path: string[] = []): string[] | undefined => {
    if (node.kind === 'leaf') return undefined;
    if (node.kind === 'array') {
      for (const item of node.items) {
        const found = reference(item, path);
        if (found) return found;
      }
      return undefined;
    }
    const seen = new Set<string>();
    for (const entry of node.entries) {
      if (seen.has(entry.key)) return [...path, entry.key];
      seen.add(entry.key);
      const found = reference(entry.value, [...path, entry.key]);
      if (found) return found;
    }
    return undefined;
  };

  it('property: finds exactly the first duplicate a reference walk of the value finds', () => {
    fc.assert(
      fc.property(tree, (node) => {
        const text = write(node);
        JSON.parse(text);
        expect(firstDuplicateKey(text)).toEqual(reference(node));
      }),
      { numRuns: 1000 },
    );
  });
});
