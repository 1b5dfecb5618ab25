import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../contract/errors.ts';
import {
  createPaymentBodySchema,
  createRefundBodySchema,
  validateIdempotencyKey,
} from '../../../contract/requests.ts';

const valid = { amount: 1000, currency: 'USD', source: 'tok_success' };

function issuePaths(input: unknown, schema = createPaymentBodySchema) {
  const result = schema.safeParse(input);
  if (result.success) return [];
  return result.error.issues.map((issue) => [issue.code, issue.path.join('.')]);
}

describe('create-payment body schema', () => {
  it('accepts the minimal and the full body, and keeps absent optional fields absent', () => {
    expect(createPaymentBodySchema.parse(valid)).toEqual(valid);
    expect(Object.keys(createPaymentBodySchema.parse(valid))).toEqual(['amount', 'currency', 'source']);
    const full = { ...valid, description: 'x'.repeat(500), metadata: Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, 'v'.repeat(500)])) };
    expect(createPaymentBodySchema.parse(full)).toEqual(full);
  });

  it('amount: integer minor units 1..99 999 999, never a float, string, negative or huge number', () => {
    for (const amount of [1, 99_999_999]) expect(createPaymentBodySchema.safeParse({ ...valid, amount }).success).toBe(true);
    for (const amount of [0, -5, 10.5, 0.01, '1000', null, 100_000_000, 1e21, true, [1000], { value: 1 }]) {
      expect(issuePaths({ ...valid, amount }), JSON.stringify(amount)).toContainEqual([expect.any(String), 'amount']);
    }
  });

  it('currency: upper-case ISO 4217 from the allowlist', () => {
    expect(createPaymentBodySchema.safeParse({ ...valid, currency: 'JPY' }).success).toBe(true);
    for (const currency of ['usd', 'Usd', 'XXX', 'US', 'USDD', '', 840, null]) {
      expect(issuePaths({ ...valid, currency }), String(currency)).toEqual([['invalid_value', 'currency']].filter(() => typeof currency === 'string').length
        ? [['invalid_value', 'currency']]
        : [[expect.any(String), 'currency']]);
    }
  });

  it('source: tok_ followed by [a-z0-9_], at most 64 characters', () => {
    for (const source of ['tok_success', 'tok_capture_fail', `tok_${'a'.repeat(60)}`]) {
      expect(createPaymentBodySchema.safeParse({ ...valid, source }).success, source).toBe(true);
    }
    for (const source of ['tok_', 'TOK_SUCCESS', 'tok_Success', 'card_4242', 'tok_a-b', `tok_${'a'.repeat(61)}`, '4242424242424242', 42]) {
      expect(issuePaths({ ...valid, source }), String(source)).toContainEqual([expect.any(String), 'source']);
    }
  });

  it('description: a string of at most 500 characters', () => {
    expect(issuePaths({ ...valid, description: 'x'.repeat(501) })).toEqual([['too_big', 'description']]);
    expect(issuePaths({ ...valid, description: 5 })).toEqual([['invalid_type', 'description']]);
  });

  it('metadata: at most 20 string pairs, keys 1..40 and values ≤ 500 characters', () => {
    const tooMany = Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v']));
    expect(issuePaths({ ...valid, metadata: tooMany })).toEqual([['custom', 'metadata']]);
    expect(issuePaths({ ...valid, metadata: { ['k'.repeat(41)]: 'v' } })).toEqual([['invalid_key', `metadata.${'k'.repeat(41)}`]]);
    expect(issuePaths({ ...valid, metadata: { '': 'v' } })).toEqual([['invalid_key', 'metadata.']]);
    expect(issuePaths({ ...valid, metadata: { k: 'v'.repeat(501) } })).toEqual([['too_big', 'metadata.k']]);
    expect(issuePaths({ ...valid, metadata: { k: 1 } })).toEqual([['invalid_type', 'metadata.k']]);
    expect(issuePaths({ ...valid, metadata: { k: { nested: 'x' } } })).toEqual([['invalid_type', 'metadata.k']]);
    expect(issuePaths({ ...valid, metadata: ['a'] })).toEqual([['invalid_type', 'metadata']]);
    expect(issuePaths({ ...valid, metadata: JSON.parse('{"__proto__":"x"}') })).toEqual([['custom', 'metadata.__proto__']]);
  });

  it('is strict: unknown fields are rejected, also __proto__', () => {
    expect(issuePaths({ ...valid, capture: true })).toEqual([['unrecognized_keys', '']]);
    expect(issuePaths(JSON.parse('{"amount":1,"currency":"USD","source":"tok_success","__proto__":{"x":1}}'))).toEqual([['unrecognized_keys', '']]);
  });

  it('requires amount, currency and source', () => {
    expect(issuePaths({}).map(([, path]) => path).sort()).toEqual(['amount', 'currency', 'source']);
  });
});

describe('create-refund body schema', () => {
  it('accepts an empty body (full refund), an amount, a reason and metadata', () => {
    expect(createRefundBodySchema.parse({})).toEqual({});
    expect(createRefundBodySchema.parse({ amount: 5, reason: 'requested_by_customer', metadata: { a: 'b' } }))
      .toEqual({ amount: 5, reason: 'requested_by_customer', metadata: { a: 'b' } });
  });

  it('reason is one of requested_by_customer, duplicate, fraudulent', () => {
    for (const reason of ['requested_by_customer', 'duplicate', 'fraudulent']) {
      expect(createRefundBodySchema.safeParse({ reason }).success).toBe(true);
    }
    expect(issuePaths({ reason: 'changed_mind' }, createRefundBodySchema as never)).toEqual([['invalid_value', 'reason']]);
  });

  it('rejects unknown fields and invalid amounts', () => {
    expect(issuePaths({ currency: 'USD' }, createRefundBodySchema as never)).toEqual([['unrecognized_keys', '']]);
    expect(issuePaths({ amount: 0 }, createRefundBodySchema as never)).toEqual([['too_small', 'amount']]);
    expect(issuePaths({ amount: 1.5 }, createRefundBodySchema as never)).toEqual([['invalid_type', 'amount']]);
  });
});

describe('Idempotency-Key validation', () => {
  const codeOf = (values: string[]) => {
    try {
      validateIdempotencyKey(values);
      return 'valid';
    } catch (error) {
      expect(error).toBeInstanceOf(ApiError);
      const apiError = error as ApiError;
      expect(apiError.statusCode).toBe(400);
      expect(apiError.param).toBe('Idempotency-Key');
      return apiError.code;
    }
  };

  it('missing → idempotency_key_missing', () => {
    expect(codeOf([])).toBe('idempotency_key_missing');
  });

  it('empty, > 255 characters or non-printable → idempotency_key_invalid', () => {
    for (const key of ['', '   ', 'k'.repeat(256), 'tab\there', 'new\nline', 'nul\0', 'ключ', 'emoji🙂', ' leading', 'trailing ']) {
      expect(codeOf([key]), JSON.stringify(key)).toBe('idempotency_key_invalid');
    }
  });

  it('several different values for the one header → idempotency_key_invalid', () => {
    expect(codeOf(['a', 'b'])).toBe('idempotency_key_invalid');
  });

  it('printable ASCII up to 255 characters is valid, e.g. a UUID', () => {
    for (const key of ['a', 'k'.repeat(255), '6f1c3a2e-8a8b-4c1e-9a7f-3f2b1c0d9e8f', 'order 1001/attempt#1 ~!@$%^&*()']) {
      expect(codeOf([key]), key).toBe('valid');
    }
    expect(validateIdempotencyKey(['same', 'same'])).toBe('same');
  });
});
