/** Header lookups as API Gateway does them: names compared without case, repeated names kept. */

export function lowerCaseLookup(headers: Record<string, string>, name: string): string | undefined {
  const wanted = name.toLowerCase();
  for (const [key, value] of Object.entries(headers)) if (key.toLowerCase() === wanted) return value;
  return undefined;
}

/** Node's flat `rawHeaders` as name/value pairs. */
export function headerPairs(rawHeaders: readonly string[]): Array<[string, string]> {
  return Array.from({ length: rawHeaders.length / 2 }, (_, i) => [rawHeaders[2 * i]!, rawHeaders[2 * i + 1]!]);
}

/**
 * The last value of each name and all of its values, as own properties: a client's header named
 * `constructor` or `__proto__` must not reach Object.prototype.
 */
export function grouped(pairs: Iterable<readonly [string, string]>): [Record<string, string>, Record<string, string[]>] {
  const values = new Map<string, string[]>();
  for (const [name, value] of pairs) values.set(name, [...(values.get(name) ?? []), value]);
  return [Object.fromEntries([...values].map(([name, all]) => [name, all.at(-1)!])), Object.fromEntries(values)];
}
