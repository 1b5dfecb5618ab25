/**
 * Fault injection for the local twin, outside the code under test: the authorizing proxies in front of
 * DynamoDB Local, the SQS emulator and the Step Functions API ask a FaultInjector about every call a
 * function (or a state machine, or an event source mapping acting with a function's role) makes, and apply
 * what it decides — AWS's fault model (DESIGN §6): a call throttled, failed with a 5xx, slow, timed out
 * (held, then applied with its response lost, as a frozen server does), applied with its response lost, or
 * the calling execution environment killed before or after the call.
 *
 * Reproducible by seed: whether a rule fires on a call is a hash of (seed, rule, caller, operation, the
 * request body, how many times that same body was sent before), not of arrival order, so the same load under
 * the same seed meets the same faults however the concurrent calls interleave (bodies that carry the time,
 * e.g. `updatedAt`, differ from run to run and draw differently). Bursts (`bursts`) are windows of wall time
 * since the stack started.
 */
import { createHash } from 'node:crypto';
import type { JsonService } from '../iam/requests.ts';

export const FAULT_KINDS = ['throttle', 'server-error', 'latency', 'timeout', 'response-lost', 'kill-before', 'kill-after'] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

/** Writes whose response can be lost after they were applied (the list; the processor's calls are its table's writes). */
export const APPLIED_WRITES: Readonly<Record<JsonService, readonly string[]>> = {
  dynamodb: ['PutItem', 'UpdateItem', 'DeleteItem', 'TransactWriteItems', 'BatchWriteItem'],
  sqs: ['SendMessage', 'SendMessageBatch', 'DeleteMessage', 'DeleteMessageBatch'],
  states: ['StartExecution'],
  'dynamodb-streams': [],
  kms: [],
};

export interface FaultRule {
  kind: FaultKind;
  /** Probability per matching call, 0..1. */
  rate: number;
  /** Services the rule applies to (default: all). */
  services?: readonly JsonService[];
  /** Operations (`PutItem`, `SendMessageBatch`, `StartExecution`, ...); default all, or APPLIED_WRITES for `response-lost`. */
  operations?: readonly string[];
  /** The caller: matched against the session (a function's name, a state machine's logical id) and the role's logical id. */
  callers?: RegExp;
  /** A table name, queue URL or state machine ARN the call names (e.g. /Processor/ for the simulated processor). */
  resources?: RegExp;
  /**
   * `latency`: extra delay, ms, drawn in [min, max] (default [200, 2000]; with `bursts`, until the burst ends: a
   * frozen server). `timeout`: how long the call is held (default 15 000).
   */
  delayMs?: readonly [number, number];
  /** Only inside these windows of wall time since the stack started: `forMs` out of every `everyMs`, from `startMs`. */
  bursts?: { everyMs: number; forMs: number; startMs?: number };
  /** At most this many injections by this rule. */
  limit?: number;
}

export interface FaultPlan {
  seed: number;
  rules: readonly FaultRule[];
}

/** One call as the proxy sees it. */
export interface FaultCall {
  service: JsonService;
  operation: string;
  /** Who signed it: a session and role; `environment` when a function's execution environment did. */
  caller?: { session: string; role: string; environment?: string };
  body: Record<string, unknown>;
  rawBody: Buffer;
}

export type FaultDecision =
  | { kind: 'throttle' | 'server-error' | 'response-lost' | 'kill-before' | 'kill-after'; rule: number }
  | { kind: 'latency' | 'timeout'; rule: number; delayMs: number };

export interface InjectedFault {
  kind: FaultKind;
  /** The rule's index in the plan. */
  rule: number;
  /** `service:Operation`, e.g. `dynamodb:TransactWriteItems`. */
  boundary: string;
  caller: string;
}

/** The table names, queue URLs and state machine ARNs a call names. */
export function resourcesOf(call: Pick<FaultCall, 'body'>): string[] {
  const body = call.body as Record<string, any>;
  const found = [body.TableName, body.QueueUrl, body.QueueName, body.stateMachineArn, body.executionArn, body.StreamArn];
  for (const item of (body.TransactItems ?? []) as Array<Record<string, any>>) for (const detail of Object.values(item)) found.push(detail?.TableName);
  found.push(...Object.keys(body.RequestItems ?? {}));
  return found.filter((value): value is string => typeof value === 'string');
}

/** A uniform number in [0, 1) from the hash of its inputs (48 bits). */
function uniform(...parts: Array<string | number>): number {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return digest.readUIntBE(0, 6) / 2 ** 48;
}

export class FaultInjector {
  private fired = new Map<number, number>();
  private rules: readonly FaultRule[];
  private readonly occurrences = new Map<string, number>();
  private readonly startedAt = Date.now();
  /** Every fault injected, in order. */
  readonly injected: InjectedFault[] = [];

  constructor(
    readonly plan: FaultPlan,
    private readonly kill: (environment: string) => boolean,
  ) {
    this.rules = FaultInjector.checked(plan.rules);
  }

  /** Replaces the rules from now on (e.g. one stack, several test cases); the injections so far stay counted. */
  setRules(rules: readonly FaultRule[]): void {
    this.rules = FaultInjector.checked(rules);
    this.fired = new Map();
  }

  /** How many times rule `index` of the current rules fired. */
  firedCount(index: number): number {
    return this.fired.get(index) ?? 0;
  }

  private static checked(rules: readonly FaultRule[]): readonly FaultRule[] {
    for (const rule of rules) {
      if (!FAULT_KINDS.includes(rule.kind)) throw new Error(`Unknown fault kind ${rule.kind} (one of ${FAULT_KINDS.join(', ')})`);
      if (!(rule.rate >= 0 && rule.rate <= 1)) throw new Error(`Fault rate ${rule.rate} is not within 0..1`);
    }
    return rules;
  }

  /** What to do with `call` (undefined: forward it untouched). Counts the fault it returns. */
  decide(call: FaultCall): FaultDecision | undefined {
    const caller = call.caller ? `${call.caller.session}` : '';
    const bodyHash = createHash('sha256').update(call.rawBody).digest('hex');
    const sinceStart = Date.now() - this.startedAt;
    for (const [index, rule] of this.rules.entries()) {
      if (!this.matches(rule, call, sinceStart)) continue;
      if (rule.limit !== undefined && (this.fired.get(index) ?? 0) >= rule.limit) continue;
      const occurrenceKey = `${index}|${caller}|${call.operation}|${bodyHash}`;
      const occurrence = this.occurrences.get(occurrenceKey) ?? 0;
      this.occurrences.set(occurrenceKey, occurrence + 1);
      const draw = uniform(this.plan.seed, index, caller, call.service, call.operation, bodyHash, occurrence);
      if (draw >= rule.rate) continue;
      this.fired.set(index, (this.fired.get(index) ?? 0) + 1);
      this.injected.push({ kind: rule.kind, rule: index, boundary: `${call.service}:${call.operation}`, caller });
      if (rule.kind === 'latency' && rule.bursts && !rule.delayMs) {
        const { everyMs, forMs, startMs = 0 } = rule.bursts;
        return { kind: rule.kind, rule: index, delayMs: forMs - ((sinceStart - startMs) % everyMs) };
      }
      if (rule.kind === 'latency' || rule.kind === 'timeout') {
        const [min, max] = rule.delayMs ?? (rule.kind === 'latency' ? [200, 2_000] : [15_000, 15_000]);
        const delayMs = Math.round(min + (max - min) * uniform(this.plan.seed, 'delay', occurrenceKey, occurrence));
        return { kind: rule.kind, rule: index, delayMs };
      }
      return { kind: rule.kind, rule: index };
    }
    return undefined;
  }

  /** Kills the execution environment that made a call; false when it is gone already. */
  killEnvironment(environment: string): boolean {
    return this.kill(environment);
  }

  /** Faults injected so far, by kind and boundary (`service:Operation`). */
  countsByKindAndBoundary(): Map<string, Map<string, number>> {
    const counts = new Map<string, Map<string, number>>();
    for (const { kind, boundary } of this.injected) {
      const byBoundary = counts.get(kind) ?? new Map<string, number>();
      byBoundary.set(boundary, (byBoundary.get(boundary) ?? 0) + 1);
      counts.set(kind, byBoundary);
    }
    return counts;
  }

  private matches(rule: FaultRule, call: FaultCall, sinceStart: number): boolean {
    // Calls signed by nobody of the stack (the runner's own, an operator's) stand for the account's administrator.
    if (!call.caller) return false;
    if (rule.services && !rule.services.includes(call.service)) return false;
    const operations = rule.operations ?? (rule.kind === 'response-lost' ? APPLIED_WRITES[call.service] : undefined);
    if (operations && !operations.includes(call.operation)) return false;
    if (rule.callers && !(call.caller && (rule.callers.test(call.caller.session) || rule.callers.test(call.caller.role)))) return false;
    // Only a function's own execution environment can be killed (not a mapping's poller acting with its role).
    if ((rule.kind === 'kill-before' || rule.kind === 'kill-after') && !call.caller?.environment) return false;
    if (rule.resources && !resourcesOf(call).some((resource) => rule.resources!.test(resource))) return false;
    if (rule.bursts) {
      const { everyMs, forMs, startMs = 0 } = rule.bursts;
      if (sinceStart < startMs || (sinceStart - startMs) % everyMs >= forMs) return false;
    }
    return true;
  }
}
