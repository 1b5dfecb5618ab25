/**
 * What the local pollers (stream-poller.ts, sqs-poller.ts) share with Lambda's event source mappings:
 * their settings, in the shape of an AWS::Lambda::EventSourceMapping resource's properties (so the
 * local runner passes the synthesized template's properties as they are, once intrinsics are
 * resolved), and event filtering as Lambda applies FilterCriteria.
 */
export interface EventSourceMappingProperties {
  BatchSize?: number;
  MaximumBatchingWindowInSeconds?: number;
  FilterCriteria?: { Filters?: Array<{ Pattern?: string }> };
  FunctionResponseTypes?: string[];
  /** Streams only. -1 (the default) retries until the record expires. */
  MaximumRetryAttempts?: number;
  /** Streams only. -1 (the default): no limit. */
  MaximumRecordAgeInSeconds?: number;
  /** Streams only. */
  BisectBatchOnFunctionError?: boolean;
  /** Streams only: an SQS queue ARN (or whatever the caller's resolveDestination understands). */
  DestinationConfig?: { OnFailure?: { Destination?: unknown } };
  /** Streams only: TRIM_HORIZON or LATEST. */
  StartingPosition?: string;
  /** Streams only; locally one batch per shard at a time, whatever the value. */
  ParallelizationFactor?: number;
  Enabled?: boolean;
}

/** Lambda's answer shape for partial batch responses (`ReportBatchItemFailures`). */
export interface BatchItemFailuresResponse {
  batchItemFailures?: Array<{ itemIdentifier?: unknown }>;
}

export const reportsBatchItemFailures = (mapping: EventSourceMappingProperties) =>
  mapping.FunctionResponseTypes?.includes('ReportBatchItemFailures') ?? false;

/**
 * The identifiers a function reported as failed, or 'all' when the response fails the whole batch
 * as Lambda reads it (an identifier that is empty, not a string or not in the batch); undefined when
 * nothing failed or the mapping does not read partial responses.
 */
export function reportedFailures(
  mapping: EventSourceMappingProperties,
  response: unknown,
  identifiersInBatch: ReadonlySet<string>,
): Set<string> | 'all' | undefined {
  if (!reportsBatchItemFailures(mapping) || response === null || typeof response !== 'object') return undefined;
  const failures = (response as BatchItemFailuresResponse).batchItemFailures;
  if (!Array.isArray(failures) || failures.length === 0) return undefined;
  const identifiers = new Set<string>();
  for (const failure of failures) {
    const id = failure?.itemIdentifier;
    if (typeof id !== 'string' || id === '' || !identifiersInBatch.has(id)) return 'all';
    identifiers.add(id);
  }
  return identifiers;
}

/** Whether a record passes the mapping's filters: no filters, or any one pattern matching (patterns are ORed). */
export function matchesFilterCriteria(criteria: EventSourceMappingProperties['FilterCriteria'], record: unknown): boolean {
  const filters = criteria?.Filters ?? [];
  if (filters.length === 0) return true;
  return filters.some((filter) => filter.Pattern !== undefined && matchesPattern(JSON.parse(filter.Pattern), record));
}

/**
 * Event pattern matching as Lambda event filtering (and EventBridge) define it: every key of the
 * pattern must match; a nested object matches the nested field; an array lists alternatives, each an
 * exact value or one of the comparison objects (prefix, suffix, equals-ignore-case, anything-but,
 * numeric, exists). An array field matches when any of its elements does.
 */
export function matchesPattern(pattern: unknown, value: unknown): boolean {
  if (!isObject(pattern)) throw new UnsupportedFilterError(`a pattern must be an object: ${JSON.stringify(pattern)}`);
  for (const [key, rule] of Object.entries(pattern)) {
    const field = isObject(value) ? value[key] : undefined;
    if (Array.isArray(rule)) {
      if (!matchesAlternatives(rule, field)) return false;
    } else if (isObject(rule)) {
      if (!isObject(field) || !matchesPattern(rule, field)) return false;
    } else {
      throw new UnsupportedFilterError(`a pattern value must be an array or an object: ${key}=${JSON.stringify(rule)}`);
    }
  }
  return true;
}

export class UnsupportedFilterError extends Error {
  override readonly name = 'UnsupportedFilterError';
}

function matchesAlternatives(alternatives: unknown[], field: unknown): boolean {
  const present = field !== undefined;
  const values = Array.isArray(field) ? field : [field];
  return alternatives.some((alternative) => {
    if (isObject(alternative) && 'exists' in alternative) return alternative.exists === present;
    return present && values.some((value) => matchesRule(alternative, value));
  });
}

function matchesRule(rule: unknown, value: unknown): boolean {
  if (rule === null || typeof rule !== 'object') return value === rule || (typeof rule === 'number' && numeric(value) === rule);
  if (!isObject(rule)) throw new UnsupportedFilterError(`unsupported filter rule: ${JSON.stringify(rule)}`);
  const [operator, operand] = Object.entries(rule)[0] ?? [];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && typeof operand === 'string' && value.startsWith(operand);
    case 'suffix':
      return typeof value === 'string' && typeof operand === 'string' && value.endsWith(operand);
    case 'equals-ignore-case':
      return typeof value === 'string' && typeof operand === 'string' && value.toLowerCase() === operand.toLowerCase();
    case 'anything-but':
      return Array.isArray(operand) ? !operand.some((excluded) => matchesRule(excluded, value)) : !matchesRule(operand, value);
    case 'numeric':
      return matchesNumeric(operand, numeric(value));
    default:
      throw new UnsupportedFilterError(`unsupported filter rule: ${JSON.stringify(rule)}`);
  }
}

function matchesNumeric(conditions: unknown, value: number | undefined): boolean {
  if (value === undefined || !Array.isArray(conditions)) return false;
  for (let index = 0; index < conditions.length; index += 2) {
    const operator = conditions[index];
    const bound = Number(conditions[index + 1]);
    const holds =
      operator === '=' ? value === bound
      : operator === '<' ? value < bound
      : operator === '<=' ? value <= bound
      : operator === '>' ? value > bound
      : operator === '>=' ? value >= bound
      : undefined;
    if (holds === undefined) throw new UnsupportedFilterError(`unsupported numeric operator: ${String(operator)}`);
    if (!holds) return false;
  }
  return true;
}

/** DynamoDB numbers reach filters as strings (`{"N": "42"}`). */
function numeric(value: unknown): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
  return undefined;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Resolves after `ms`, or at once when the signal aborts; leaves no timer behind either way. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
