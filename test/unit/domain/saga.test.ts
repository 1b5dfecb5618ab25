import { describe, expect, it } from 'vitest';
import { causeMessage, paymentFailureCode, processorKey, refundFailureCode, required, InvalidSagaState } from '../../../lambdas/domain/saga.ts';

// A Lambda error reaches a Catch as {Error: <name>, Cause: '{"errorType","errorMessage","trace"}'}.
const lambdaCause = (errorType: string, errorMessage: string) => JSON.stringify({ errorType, errorMessage, trace: ['at x'] });

describe('paymentFailureCode', () => {
  it('takes the decline code from a PaymentDeclined cause', () => {
    expect(paymentFailureCode({ error: { Error: 'PaymentDeclined', Cause: lambdaCause('PaymentDeclined', 'insufficient_funds') } })).toBe('insufficient_funds');
    expect(paymentFailureCode({ error: { Error: 'PaymentDeclined', Cause: 'card_declined' } })).toBe('card_declined');
  });

  it('prefers the code the saga set on the way (capture_failed, ledger_failed, ...)', () => {
    expect(paymentFailureCode({ failureCode: 'ledger_failed', error: { Error: 'ResourceNotFoundException', Cause: 'x' } })).toBe('ledger_failed');
  });

  it('never invents a code: an unknown decline message is card_declined, anything else processor_unavailable', () => {
    expect(paymentFailureCode({ error: { Error: 'PaymentDeclined', Cause: lambdaCause('PaymentDeclined', 'weird') } })).toBe('card_declined');
    expect(paymentFailureCode({ failureCode: 'not_a_code', error: { Error: 'States.Timeout' } })).toBe('processor_unavailable');
  });
});

describe('refundFailureCode', () => {
  it("is the processor's refusal code, else processor_unavailable", () => {
    expect(refundFailureCode({ error: { Error: 'RefundFailed', Cause: lambdaCause('RefundFailed', 'refund_declined') } })).toBe('refund_declined');
    expect(refundFailureCode({ error: { Error: 'ProcessorUnavailable', Cause: lambdaCause('ProcessorUnavailable', 'processor_unavailable') } })).toBe('processor_unavailable');
  });
});

describe('saga state helpers', () => {
  it('causeMessage reads a JSON cause or returns a plain one', () => {
    expect(causeMessage({ Error: 'X', Cause: lambdaCause('X', 'boom') })).toBe('boom');
    expect(causeMessage({ Error: 'X', Cause: 'plain' })).toBe('plain');
    expect(causeMessage(undefined)).toBeUndefined();
  });

  it('processor keys follow the contract', () => {
    expect(processorKey('pay_1', 'authorize')).toBe('pay_1:authorize');
    expect(processorKey('re_1', 'refund')).toBe('re_1:refund');
  });

  it('required throws InvalidSagaState for a missing field', () => {
    expect(required({ amount: 5 } as { amount?: number }, 'amount')).toBe(5);
    expect(() => required({} as { amount?: number }, 'amount')).toThrow(InvalidSagaState);
  });
});
