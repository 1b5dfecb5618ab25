/**
 * API Gateway's request limits, as token buckets: a usage plan's throttle per API key (or its per-method
 * throttle), its quota per period, and the stage's method throttling.
 */
import type { TemplateValue } from '../intrinsics.ts';

export interface Throttle {
  rate: number;
  burst: number;
}

/** What a usage plan limits for each of its keys, on one API stage. */
export interface UsagePlanLimits {
  throttle?: Throttle;
  /** `"/payments/POST"` -> throttle, per API stage. */
  methodThrottles: Record<string, Throttle>;
  quota?: { limit: number; period: 'DAY' | 'WEEK' | 'MONTH' };
}

/** A template's `{RateLimit, BurstLimit}` as a throttle; a missing limit is no limit. */
export function toThrottle(value: TemplateValue | undefined): Throttle | undefined {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return undefined;
  const { RateLimit, BurstLimit } = value as { RateLimit?: number; BurstLimit?: number };
  if (RateLimit === undefined && BurstLimit === undefined) return undefined;
  return { rate: Number(RateLimit ?? Number.POSITIVE_INFINITY), burst: Number(BurstLimit ?? Number.POSITIVE_INFINITY) };
}

interface TokenBucket {
  tokens: number;
  updatedAt: number;
  readonly rate: number;
  readonly burst: number;
}

function takeToken(bucket: TokenBucket, now: number): boolean {
  const refill = Number.isFinite(bucket.rate) ? ((now - bucket.updatedAt) / 1000) * bucket.rate : bucket.burst;
  bucket.tokens = Math.min(bucket.burst, bucket.tokens + refill);
  bucket.updatedAt = now;
  if (bucket.tokens < 1) return false;
  bucket.tokens -= 1;
  return true;
}

function quotaWindowStart(period: 'DAY' | 'WEEK' | 'MONTH', now: Date): number {
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate());
  if (period === 'DAY') return day;
  if (period === 'WEEK') return day - ((now.getUTCDay() + 6) % 7) * 86_400_000;
  return Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), 1);
}

/** When the quota window that holds `now` ends (API Gateway's quota periods start at UTC boundaries). */
export function quotaWindowEnd(period: 'DAY' | 'WEEK' | 'MONTH', now: Date): number {
  const start = quotaWindowStart(period, now);
  if (period === 'DAY') return start + 86_400_000;
  if (period === 'WEEK') return start + 7 * 86_400_000;
  const startDate = new Date(start);
  return Date.UTC(startDate.getUTCFullYear(), startDate.getUTCMonth() + 1, 1);
}

/** The buckets and quota counts of one served stage. */
export class UsageLimits {
  private readonly keyBuckets = new Map<string, TokenBucket>();
  private readonly stageBuckets = new Map<string, TokenBucket>();
  private readonly quotaUsage = new Map<string, { windowStart: number; used: number }>();

  /** `stageThrottles`: stage method settings (`"/*\/*"` or `"/payments/POST"`) -> throttle. */
  constructor(private readonly stageThrottles: Record<string, Throttle>) {}

  /**
   * A request with API key `keyId` to `methodKey` (`"/payments/POST"`), under the key's usage plan: its
   * method throttle (else the plan's throttle), then its quota. Undefined when admitted.
   */
  admitKey(keyId: string, plan: UsagePlanLimits, methodKey: string, startedAt: Date): 'THROTTLED' | 'QUOTA_EXCEEDED' | undefined {
    const methodThrottle = plan.methodThrottles[methodKey];
    if (methodThrottle && !takeToken(this.bucket(this.keyBuckets, `${keyId} ${methodKey}`, methodThrottle), Date.now())) return 'THROTTLED';
    if (!methodThrottle && plan.throttle && !takeToken(this.bucket(this.keyBuckets, keyId, plan.throttle), Date.now())) return 'THROTTLED';
    if (plan.quota) {
      const windowStart = quotaWindowStart(plan.quota.period, startedAt);
      const usage = this.quotaUsage.get(keyId);
      const used = usage && usage.windowStart === windowStart ? usage.used : 0;
      if (used >= plan.quota.limit) return 'QUOTA_EXCEEDED';
      this.quotaUsage.set(keyId, { windowStart, used: used + 1 });
    }
    return undefined;
  }

  /** A request to `methodKey` under the stage's method throttling. Undefined when admitted. */
  admitStage(methodKey: string): 'THROTTLED' | undefined {
    const stageThrottle = this.stageThrottles[methodKey] ?? this.stageThrottles['/*/*'];
    if (stageThrottle && !takeToken(this.bucket(this.stageBuckets, methodKey, stageThrottle), Date.now())) return 'THROTTLED';
    return undefined;
  }

  private bucket(buckets: Map<string, TokenBucket>, id: string, throttle: Throttle): TokenBucket {
    let found = buckets.get(id);
    if (!found) {
      found = { tokens: throttle.burst, updatedAt: Date.now(), rate: throttle.rate, burst: throttle.burst };
      buckets.set(id, found);
    }
    return found;
  }
}
