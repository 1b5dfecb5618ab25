// zod/mini: the same validation as classic zod in a fraction of the bundle (classic pulls every locale in).
import * as z from 'zod/mini';
import { MAX_AMOUNT, MIN_AMOUNT, SUPPORTED_CURRENCIES } from '#domain/money';
import { REFUND_REASONS } from '#domain/refund';
import { idempotencyKeyInvalid, idempotencyKeyMissing } from './errors.ts';
import './zod-messages.ts';

export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;
export const MAX_DESCRIPTION_LENGTH = 500;
export const MAX_METADATA_KEYS = 20;
export const MAX_METADATA_KEY_LENGTH = 40;
export const MAX_METADATA_VALUE_LENGTH = 500;
export const MAX_SOURCE_LENGTH = 64;

const amountMessage = `amount must be an integer number of the currency's minor unit between ${MIN_AMOUNT} and ${MAX_AMOUNT}`;
const amountSchema = z
  .int({ error: amountMessage })
  .check(z.minimum(MIN_AMOUNT, { error: amountMessage }), z.maximum(MAX_AMOUNT, { error: amountMessage }));

const currencySchema = z.enum(SUPPORTED_CURRENCIES, {
  error: 'currency must be a supported upper-case ISO 4217 code, e.g. USD',
});

const sourceMessage = `source must be a token: tok_ followed by lower-case letters, digits or _, at most ${MAX_SOURCE_LENGTH} characters`;
const sourceSchema = z
  .string({ error: sourceMessage })
  .check(z.maxLength(MAX_SOURCE_LENGTH, { error: sourceMessage }), z.regex(/^tok_[a-z0-9_]+$/, { error: sourceMessage }));

// A lone UTF-16 surrogate has no UTF-8 encoding and DynamoDB strings are UTF-8: refuse it rather than store something else.
const wellFormed = (what: string) => z.refine<string>((text) => text.isWellFormed(), { error: `${what} must be valid Unicode text` });

const descriptionSchema = z
  .string({ error: `description must be a string of at most ${MAX_DESCRIPTION_LENGTH} characters` })
  .check(z.maxLength(MAX_DESCRIPTION_LENGTH, { error: `description must be at most ${MAX_DESCRIPTION_LENGTH} characters` }), wellFormed('description'));

const metadataKeyMessage = `metadata keys must be 1 to ${MAX_METADATA_KEY_LENGTH} characters`;
const metadataRecordSchema = z
  .record(
    z.string().check(
      z.minLength(1, { error: metadataKeyMessage }),
      z.maxLength(MAX_METADATA_KEY_LENGTH, { error: metadataKeyMessage }),
      wellFormed('metadata keys'),
    ),
    z
      .string({ error: `metadata values must be strings of at most ${MAX_METADATA_VALUE_LENGTH} characters` })
      .check(
        z.maxLength(MAX_METADATA_VALUE_LENGTH, { error: `metadata values must be at most ${MAX_METADATA_VALUE_LENGTH} characters` }),
        wellFormed('metadata values'),
      ),
    { error: `metadata must be an object of at most ${MAX_METADATA_KEYS} string key-value pairs` },
  )
  .check(z.refine((metadata) => Object.keys(metadata).length <= MAX_METADATA_KEYS, {
    error: `metadata can have at most ${MAX_METADATA_KEYS} keys`,
  }));
// zod's record skips a "__proto__" key, which would silently drop it: reject it before the record parses.
const metadataSchema = z.pipe(
  z.unknown().check(z.refine((value) => !(typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')), {
    error: 'metadata key __proto__ is not allowed',
    path: ['__proto__'],
  })),
  metadataRecordSchema,
);

/** Body of POST /v1/payments. Strict: an unknown field is an error, never silently ignored. */
export const createPaymentBodySchema = z.strictObject({
  amount: amountSchema,
  currency: currencySchema,
  source: sourceSchema,
  description: z.optional(descriptionSchema),
  metadata: z.optional(metadataSchema),
});
export type CreatePaymentBody = z.output<typeof createPaymentBodySchema>;

/** Body of POST /v1/payments/{id}/refunds. Without `amount` the whole remaining refundable amount is refunded. */
export const createRefundBodySchema = z.strictObject({
  amount: z.optional(amountSchema),
  reason: z.optional(z.enum(REFUND_REASONS, { error: `reason must be one of ${REFUND_REASONS.join(', ')}` })),
  metadata: z.optional(metadataSchema),
});
export type CreateRefundBody = z.output<typeof createRefundBodySchema>;

// Printable ASCII (space to tilde), without leading or trailing space.
const IDEMPOTENCY_KEY_PATTERN = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * Validates the Idempotency-Key header value(s). Several different values for the one header are
 * ambiguous and rejected. Returns the key; throws idempotency_key_missing / idempotency_key_invalid.
 */
export function validateIdempotencyKey(values: readonly string[]): string {
  if (values.length === 0) throw idempotencyKeyMissing();
  const distinct = [...new Set(values)];
  if (distinct.length > 1) throw idempotencyKeyInvalid('the header was sent more than once with different values');
  const key = distinct[0]!;
  if (key.trim() === '') throw idempotencyKeyInvalid('it is empty');
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw idempotencyKeyInvalid(`it is longer than ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  if (!IDEMPOTENCY_KEY_PATTERN.test(key)) {
    throw idempotencyKeyInvalid('it must be printable ASCII without leading or trailing spaces');
  }
  return key;
}
