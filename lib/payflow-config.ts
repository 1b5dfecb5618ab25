import type { Construct } from 'constructs';
import { z } from 'zod';

/** A throttling tier: one API Gateway usage plan. */
const TierSchema = z.strictObject({
  rateLimit: z.number().positive(),
  burstLimit: z.int().nonnegative(),
  /** Requests per day; no quota when absent. */
  dailyQuota: z.int().positive().optional(),
});

/** One API key of a merchant. A revoked key stays listed (disabled, so API Gateway answers it 403) until it is deleted. */
const MerchantKeySchema = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  revoked: z.boolean().default(false),
});

/**
 * A merchant: its identity (payments, idempotency keys stay with it) and its API keys, each attached to the
 * tier's usage plan. Two active keys while it rotates; the first key keeps the merchant's original key resource.
 */
const MerchantSchema = z.strictObject({
  id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'lower-case letters, digits and dashes'),
  tier: z.string().min(1),
  keys: z.array(MerchantKeySchema).min(1).default([{ name: 'primary', revoked: false }]),
});

export type Tier = z.infer<typeof TierSchema>;
export type Merchant = z.infer<typeof MerchantSchema>;
export type MerchantKey = z.infer<typeof MerchantKeySchema>;
export type SagaType = 'STANDARD' | 'EXPRESS';

export const DEFAULT_MERCHANTS: Merchant[] = [
  { id: 'merchant-a', tier: 'standard', keys: [{ name: 'primary', revoked: false }] },
  { id: 'merchant-b', tier: 'standard', keys: [{ name: 'primary', revoked: false }] },
  { id: 'throttle-probe', tier: 'trial', keys: [{ name: 'primary', revoked: false }] },
];

export const DEFAULT_TIERS: Record<string, Tier> = {
  trial: { rateLimit: 1, burstLimit: 2 },
  standard: { rateLimit: 50, burstLimit: 100 },
  premium: { rateLimit: 500, burstLimit: 1000 },
};

export const DEFAULT_IDEMPOTENCY_TTL_SECONDS = 86_400;

/** The processor's circuit breaker (issue 12); seeds: open after 10 failures in 60 s. */
const CircuitBreakerSchema = z.strictObject({
  /** Transient authorization failures in one window that open the breaker. */
  failureThreshold: z.int().positive().default(10),
  /** The window failures are counted in, seconds. */
  windowSeconds: z.int().positive().default(60),
  /** How long it stays open before one probe may go through, seconds. */
  openSeconds: z.number().positive().default(30),
  /** How long a payment waits (nothing authorized) for the breaker before it fails as processor_unavailable, seconds. */
  holdSeconds: z.int().positive().default(120),
  /** How often a waiting payment asks the breaker again, seconds. */
  waitSeconds: z.int().positive().default(10),
});
export type CircuitBreakerConfig = z.infer<typeof CircuitBreakerSchema>;

/**
 * Bulkheads (issue 12): Lambda reserved concurrency, so that a slow processor cannot take the
 * concurrency the API needs. Reserved concurrency is both a guarantee and a ceiling.
 */
const ConcurrencySchema = z.strictObject({
  /** Per saga function that calls the processor (Authorize, Capture, VoidAuthorization, RefundCapture, RefundAtProcessor): its ceiling. */
  processorTasks: z.int().positive().default(20),
  /** Per API function (create-payment, get-payment, create-refund): reserved for it; 0 leaves them on the unreserved pool. */
  api: z.int().nonnegative().default(0),
});
export type ConcurrencyConfig = z.infer<typeof ConcurrencySchema>;

/** Scheduled reconciliation (issue 10). */
const ReconciliationSchema = z.strictObject({
  /** Restarts of one stuck item's saga before it is handed to the saga-failures queue. */
  maxRestarts: z.int().positive().default(3),
});
export type ReconciliationConfig = z.infer<typeof ReconciliationSchema>;
/** Webhooks (issue 11): delivery timeout and retry schedule; devMode is the twin's (http://127.0.0.1 endpoints allowed). */
const WebhooksSchema = z.strictObject({
  devMode: z.boolean().default(false),
  /** Only a 2xx within this many seconds counts as delivered. */
  timeoutSeconds: z.int().positive().max(30).default(10),
  /** Retries: a random wait in [0, min(cap, base * 2^(attempt-1))] (full jitter), until the window since the first attempt is over. */
  retryBaseSeconds: z.number().positive().default(60),
  retryCapSeconds: z.number().positive().default(6 * 3600),
  retryWindowSeconds: z.number().positive().default(3 * 24 * 3600),
});
export type WebhooksConfig = z.infer<typeof WebhooksSchema>;

/** Express workflows stop after 5 minutes: the hold must leave room for the rest of the saga. */
export const MAX_EXPRESS_HOLD_SECONDS = 120;

export interface PayflowConfig {
  /** Throwaway stack: tables are destroyed with it. */
  readonly dev: boolean;
  readonly sagaType: SagaType;
  readonly idempotencyTtlSeconds: number;
  readonly merchants: Merchant[];
  readonly tiers: Record<string, Tier>;
  /** Where alarm notifications go (an SNS email subscription to confirm); none when absent. */
  readonly alarmEmail?: string;
  /**
   * Powertools Tracer (X-Ray SDK) in every function: a subsegment per AWS call, for ~22 ms more cold
   * start. When false, Lambda's active tracing alone records each invocation.
   */
  readonly sdkTracing: boolean;
  readonly circuitBreaker: CircuitBreakerConfig;
  readonly concurrency: ConcurrencyConfig;
  readonly reconciliation: ReconciliationConfig;
  /** The payment processor: the simulated one (its own table) or Stripe (secret key in Secrets Manager). */
  readonly processor: 'simulated' | 'stripe';
  /** With Stripe: the complete ARN of the secret holding its secret key; absent, the stack creates the secret to fill. */
  readonly stripeSecretArn?: string;
  readonly webhooks: WebhooksConfig;
}

const ConfigSchema = z
  .object({
    dev: z.stringbool().or(z.boolean()).default(false),
    sagaType: z.enum(['STANDARD', 'EXPRESS']).default('STANDARD'),
    idempotencyTtlSeconds: z.coerce.number().int().positive().default(DEFAULT_IDEMPOTENCY_TTL_SECONDS),
    merchants: z.array(MerchantSchema).min(1).default(DEFAULT_MERCHANTS),
    tiers: z.record(z.string(), TierSchema).default(DEFAULT_TIERS),
    alarmEmail: z.email().optional(),
    sdkTracing: z.stringbool().or(z.boolean()).default(true),
    circuitBreaker: CircuitBreakerSchema.default(CircuitBreakerSchema.parse({})),
    concurrency: ConcurrencySchema.default(ConcurrencySchema.parse({})),
    reconciliation: ReconciliationSchema.default(ReconciliationSchema.parse({})),
    processor: z.enum(['simulated', 'stripe']).default('simulated'),
    stripeSecretArn: z
      .string()
      .regex(/^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/, 'the complete ARN of a Secrets Manager secret (ending in its 6-character suffix)')
      .optional(),
    webhooks: WebhooksSchema.default(WebhooksSchema.parse({})),
  })
  .superRefine((config, ctx) => {
    const { holdSeconds, waitSeconds } = config.circuitBreaker;
    if (waitSeconds > holdSeconds) ctx.addIssue({ code: 'custom', message: 'waitSeconds must not exceed holdSeconds', path: ['circuitBreaker'] });
    if (config.sagaType === 'EXPRESS' && holdSeconds > MAX_EXPRESS_HOLD_SECONDS) {
      ctx.addIssue({ code: 'custom', message: `holdSeconds must be at most ${MAX_EXPRESS_HOLD_SECONDS} with EXPRESS sagas (they stop after 5 minutes)`, path: ['circuitBreaker'] });
    }
    if (config.stripeSecretArn && config.processor !== 'stripe') {
      ctx.addIssue({ code: 'custom', message: 'payflow:stripeSecretArn is only used with payflow:processor=stripe', path: ['stripeSecretArn'] });
    }
    const seen = new Set<string>();
    for (const merchant of config.merchants) {
      if (seen.has(merchant.id)) ctx.addIssue({ code: 'custom', message: `duplicate merchant ${merchant.id}`, path: ['merchants'] });
      seen.add(merchant.id);
      const names = merchant.keys.map((key) => key.name);
      if (new Set(names).size !== names.length) ctx.addIssue({ code: 'custom', message: `merchant ${merchant.id} has two keys of one name`, path: ['merchants'] });
      if (!config.tiers[merchant.tier]) {
        ctx.addIssue({ code: 'custom', message: `merchant ${merchant.id} has unknown tier ${merchant.tier}`, path: ['merchants'] });
      }
    }
  });

/** Context values arrive as JSON strings from `cdk -c key=value` and as objects from cdk.json. */
function contextValue(scope: Construct, key: string): unknown {
  const value = scope.node.tryGetContext(key);
  if (typeof value === 'string' && /^\s*[[{]/.test(value)) return JSON.parse(value);
  return value;
}

/** Reads the `payflow:*` context keys (see cdk.json), with defaults, and fails synth on a bad value. */
export function readPayflowConfig(scope: Construct): PayflowConfig {
  const parsed = ConfigSchema.safeParse({
    dev: contextValue(scope, 'payflow:dev'),
    sagaType: contextValue(scope, 'payflow:sagaType'),
    idempotencyTtlSeconds: contextValue(scope, 'payflow:idempotencyTtlSeconds'),
    merchants: contextValue(scope, 'payflow:merchants'),
    tiers: contextValue(scope, 'payflow:tiers'),
    alarmEmail: contextValue(scope, 'payflow:alarmEmail'),
    sdkTracing: contextValue(scope, 'payflow:sdkTracing'),
    circuitBreaker: contextValue(scope, 'payflow:circuitBreaker'),
    concurrency: contextValue(scope, 'payflow:concurrency'),
    reconciliation: contextValue(scope, 'payflow:reconciliation'),
    processor: contextValue(scope, 'payflow:processor'),
    stripeSecretArn: contextValue(scope, 'payflow:stripeSecretArn'),
    webhooks: contextValue(scope, 'payflow:webhooks'),
  });
  if (!parsed.success) throw new Error(`Invalid payflow:* context: ${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** `merchant-a` -> `MerchantA`: used in construct ids and output names (ApiKeyIdMerchantA). */
export function pascalCase(id: string): string {
  return id
    .split(/[^a-zA-Z0-9]+/)
    .filter(Boolean)
    .map((part) => part[0]!.toUpperCase() + part.slice(1))
    .join('');
}
