/**
 * Every environment variable a Payflow function reads, named once: the constructs write a function's
 * environment with `functionEnvironment` and the handlers read it with `setting`, both through these
 * keys, so a renamed or misspelt variable fails to compile instead of failing at cold start.
 */
export const FUNCTION_SETTINGS = {
  paymentsTable: 'PAYMENTS_TABLE_NAME',
  idempotencyTable: 'IDEMPOTENCY_TABLE_NAME',
  idempotencyTtlSeconds: 'IDEMPOTENCY_TTL_SECONDS',
  processorTable: 'PROCESSOR_TABLE_NAME',
  eventsQueueUrl: 'EVENTS_QUEUE_URL',
  relayDeadLetterQueueUrl: 'RELAY_DEAD_LETTER_QUEUE_URL',
  paymentSagaArn: 'PAYMENT_SAGA_ARN',
  refundSagaArn: 'REFUND_SAGA_ARN',
  sagaFailuresQueueUrl: 'SAGA_FAILURES_QUEUE_URL',
  stuckAfterSeconds: 'STUCK_AFTER_SECONDS',
  /** Payments or open items per query page (every page is read while the run has time). */
  reconcileMaxItems: 'RECONCILE_MAX_ITEMS',
  reconcileMaxRestarts: 'RECONCILE_MAX_RESTARTS',
  /** The stack's merchant ids, comma-separated: reconciliation scans each one's payments. */
  reconcileMerchantIds: 'RECONCILE_MERCHANT_IDS',
  circuitBreakerTable: 'CIRCUIT_BREAKER_TABLE_NAME',
  breakerFailureThreshold: 'BREAKER_FAILURE_THRESHOLD',
  breakerWindowSeconds: 'BREAKER_WINDOW_SECONDS',
  breakerOpenSeconds: 'BREAKER_OPEN_SECONDS',
  merchantApiKeys: 'MERCHANT_API_KEYS',
  stripeSecretArn: 'STRIPE_SECRET_ARN',
  dailyReportsTable: 'DAILY_REPORTS_TABLE_NAME',
  settleSeconds: 'RECONCILIATION_SETTLE_SECONDS',
  webhooksTable: 'WEBHOOKS_TABLE_NAME',
  webhookDeliveryQueueUrl: 'WEBHOOK_DELIVERY_QUEUE_URL',
  webhookDeadLetterQueueUrl: 'WEBHOOK_DEAD_LETTER_QUEUE_URL',
  /** `true` in the twin's dev mode only: http://127.0.0.1 endpoints are allowed. */
  webhookDevMode: 'WEBHOOK_DEV_MODE',
  webhookTimeoutSeconds: 'WEBHOOK_TIMEOUT_SECONDS',
  webhookRetryBaseSeconds: 'WEBHOOK_RETRY_BASE_SECONDS',
  webhookRetryCapSeconds: 'WEBHOOK_RETRY_CAP_SECONDS',
  webhookRetryWindowSeconds: 'WEBHOOK_RETRY_WINDOW_SECONDS',
  /** The KMS key the webhook signing secrets are envelope-encrypted with. */
  webhookSigningKeyArn: 'WEBHOOK_SIGNING_KEY_ARN',
} as const;

export type FunctionSetting = keyof typeof FUNCTION_SETTINGS;

/** A function's environment from its settings (for the constructs). */
export function functionEnvironment(settings: Partial<Record<FunctionSetting, string>>): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings) as Array<[FunctionSetting, string | undefined]>) {
    if (value !== undefined) environment[FUNCTION_SETTINGS[name]] = value;
  }
  return environment;
}

/** A setting the function cannot run without. */
export function setting(name: FunctionSetting): string {
  const value = process.env[FUNCTION_SETTINGS[name]];
  if (!value) throw new Error(`Environment variable ${FUNCTION_SETTINGS[name]} is not set`);
  return value;
}

/** A numeric setting, or `fallback` when it is not set. */
export function numberSetting(name: FunctionSetting, fallback: number): number {
  const raw = process.env[FUNCTION_SETTINGS[name]];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new Error(`Environment variable ${FUNCTION_SETTINGS[name]} is not a number: ${raw}`);
  return value;
}
