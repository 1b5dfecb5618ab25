import { randomUUID } from 'node:crypto';
import type { LocalIdentity } from '../identity.ts';
import type { TemplateValue } from '../intrinsics.ts';
import type { ReferenceRegistry } from '../references.ts';
import { resourcesOfType, type CfnTemplate } from '../template.ts';

export interface ScheduleOptions {
  template: CfnTemplate;
  resolve: (value: TemplateValue) => TemplateValue;
  /** Invokes a function by ARN, as EventBridge does (asynchronously: the result is not awaited by anyone). */
  invoke(functionArn: string, event: unknown): Promise<unknown>;
  /** Tells whether an ARN is a function the runner runs. */
  isFunction(arn: string): boolean;
  region: string;
  accountId: string;
  /** Multiplies every period (e.g. 0.001 fires a `rate(5 minutes)` schedule every 300 ms). Default 1. */
  timeScale?: number;
  /** Reports a failed scheduled invocation (Lambda would retry it twice, then drop it). */
  onError?: (scheduleId: string, error: unknown) => void;
}

export interface LocalSchedule {
  logicalId: string;
  expression: string;
  periodMs: number;
  targets: string[];
}

export interface LocalSchedules {
  readonly schedules: readonly LocalSchedule[];
  stop(): void;
}

/** What Ref/GetAtt of the template's EventBridge rules and Scheduler schedules mean locally: their name, and their ARN. */
export function registerScheduleReferences(template: CfnTemplate, references: ReferenceRegistry, identity: LocalIdentity): void {
  for (const [logicalId, resource] of [...resourcesOfType(template, 'AWS::Events::Rule'), ...resourcesOfType(template, 'AWS::Scheduler::Schedule')]) {
    const name = typeof resource.Properties?.Name === 'string' ? resource.Properties.Name : logicalId;
    const service = resource.Type === 'AWS::Events::Rule' ? 'events' : 'scheduler';
    const kind = resource.Type === 'AWS::Events::Rule' ? 'rule' : 'schedule/default';
    references.set(logicalId, name, { Arn: `arn:aws:${service}:${identity.region}:${identity.accountId}:${kind}/${name}` });
  }
}

const UNIT_MS: Record<string, number> = { minute: 60_000, minutes: 60_000, hour: 3_600_000, hours: 3_600_000, day: 86_400_000, days: 86_400_000 };

/** `rate(5 minutes)` -> 300000. Cron expressions are not emulated. */
export function ratePeriodMs(expression: string): number {
  const match = /^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$/.exec(expression.trim());
  if (!match) throw new Error(`Schedule expression ${expression} is not supported locally (only rate(N minutes|hours|days))`);
  return Number(match[1]) * UNIT_MS[match[2]!]!;
}

interface Target {
  arn: string;
  input: (firedAt: Date) => unknown;
}

/** Fires the template's schedules (EventBridge rules with a ScheduleExpression, EventBridge Scheduler schedules) on their rate. */
export function startSchedules(options: ScheduleOptions): LocalSchedules {
  const scale = options.timeScale ?? 1;
  const planned: Array<LocalSchedule & { fire: (firedAt: Date) => void }> = [];

  for (const [logicalId, resource] of resourcesOfType(options.template, 'AWS::Events::Rule')) {
    const props = options.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
    if (props.ScheduleExpression === undefined) {
      throw new Error(`${logicalId}: an AWS::Events::Rule with an event pattern is not supported locally (no event bus); only scheduled rules are`);
    }
    if (props.State === 'DISABLED') continue;
    const ruleArn = `arn:aws:events:${options.region}:${options.accountId}:rule/${typeof props.Name === 'string' ? props.Name : logicalId}`;
    const targets = ((props.Targets ?? []) as Array<Record<string, TemplateValue>>).map((target): Target => {
      if (target.InputPath !== undefined || target.InputTransformer !== undefined) throw new Error(`${logicalId}: target InputPath/InputTransformer is not supported locally`);
      const input = typeof target.Input === 'string' ? (JSON.parse(target.Input) as unknown) : undefined;
      return {
        arn: String(target.Arn),
        input: (firedAt) =>
          input ?? {
            version: '0',
            id: randomUUID(),
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: options.accountId,
            time: firedAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
            region: options.region,
            resources: [ruleArn],
            detail: {},
          },
      };
    });
    planned.push(schedule(logicalId, String(props.ScheduleExpression), targets));
  }

  for (const [logicalId, resource] of resourcesOfType(options.template, 'AWS::Scheduler::Schedule')) {
    const props = options.resolve((resource.Properties ?? {}) as TemplateValue) as Record<string, TemplateValue>;
    if (props.State === 'DISABLED') continue;
    const target = (props.Target ?? {}) as Record<string, TemplateValue>;
    const input = typeof target.Input === 'string' ? (JSON.parse(target.Input) as unknown) : {};
    planned.push(schedule(logicalId, String(props.ScheduleExpression), [{ arn: String(target.Arn), input: () => input }]));
  }

  function schedule(logicalId: string, expression: string, targets: Target[]) {
    for (const target of targets) {
      if (!options.isFunction(target.arn)) throw new Error(`${logicalId}: schedule target ${target.arn} is not supported locally (only Lambda functions of the stack)`);
    }
    return {
      logicalId,
      expression,
      periodMs: Math.max(1, Math.round(ratePeriodMs(expression) * scale)),
      targets: targets.map((target) => target.arn),
      fire: (firedAt: Date) => {
        for (const target of targets) {
          options.invoke(target.arn, target.input(firedAt)).catch((error: unknown) => options.onError?.(logicalId, error));
        }
      },
    };
  }

  const timers = planned.map((entry) => setInterval(() => entry.fire(new Date()), entry.periodMs));
  return {
    schedules: planned.map(({ fire: _fire, ...rest }) => rest),
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
