/**
 * The payment processor port (CONTRACT "Processor port"). Every call carries an idempotency key:
 * the same key always yields the same outcome, so the saga may retry any call safely.
 *
 * Errors are Error subclasses whose `name` is a string literal equal to the class name: Step
 * Functions' Retry/Catch match on it, and minified bundles rename classes, so it must not be
 * derived from the constructor.
 */
import type { ProcessorCapture } from '#domain/daily-reconciliation';

export type { ProcessorCapture };

export interface AuthorizeRequest {
  key: string;
  amount: number;
  currency: string;
  /** The payment source: a test token for the simulated processor. */
  source: string;
}

export interface CaptureRequest {
  key: string;
  authorizationId: string;
  amount: number;
}

export interface VoidRequest {
  key: string;
  /**
   * The authorization to void. Absent when the authorize call's outcome is unknown (it timed out
   * for good): the processor then voids whatever that payment's authorize call created, if anything.
   */
  authorizationId?: string;
}

export interface RefundRequest {
  key: string;
  /** Refund this capture, or, when absent, the capture of `paymentId`. */
  captureId?: string;
  paymentId?: string;
  amount: number;
}

export interface PaymentProcessor {
  authorize(request: AuthorizeRequest): Promise<{ authorizationId: string }>;
  capture(request: CaptureRequest): Promise<{ captureId: string }>;
  /**
   * Cancels the authorization; if it was captured but not settled (the ambiguous capture timeout),
   * the capture is reversed too, like a processor's cancel-or-refund.
   */
  void(request: VoidRequest): Promise<{ voided: true }>;
  refund(request: RefundRequest): Promise<{ refundId: string }>;
}

/** The card was declined at authorization; the message is the failure code (card_declined, insufficient_funds). */
export class PaymentDeclined extends Error {
  override readonly name = 'PaymentDeclined';
  constructor(readonly code: 'card_declined' | 'insufficient_funds') {
    super(code);
  }
}

/** The processor refused the capture (definitive). */
export class CaptureFailed extends Error {
  override readonly name = 'CaptureFailed';
  constructor(readonly code = 'capture_failed') {
    super(code);
  }
}

/** The processor refused the refund (definitive); the message is the failure code. */
export class RefundFailed extends Error {
  override readonly name = 'RefundFailed';
  constructor(readonly code = 'refund_failed') {
    super(code);
  }
}

/** Transient: nothing happened, retry later with the same key. */
export class ProcessorUnavailable extends Error {
  override readonly name = 'ProcessorUnavailable';
  constructor(message = 'processor_unavailable') {
    super(message);
  }
}

/** Ambiguous: the call may or may not have taken effect; retry with the same key to learn which. */
export class ProcessorTimeout extends Error {
  override readonly name = 'ProcessorTimeout';
  constructor(message = 'processor_timeout') {
    super(message);
  }
}

/** The key was used before with different parameters (a bug in the caller, never retried). */
export class ProcessorIdempotencyMismatch extends Error {
  override readonly name = 'ProcessorIdempotencyMismatch';
}

/** One page of a listing; `nextPageToken` is absent on the last page. */
export interface Page<T> {
  items: T[];
  nextPageToken?: string;
}

/**
 * The processor's own records of captures, for the daily reconciliation (issue 12). Separate from
 * PaymentProcessor: only the reconciliation reads them, and only it is granted what that takes.
 */
export interface ProcessorRecords {
  /** The captures the processor recorded on a UTC day (`YYYY-MM-DD`), a page at a time. */
  capturesOfDay(day: string, pageToken?: string): Promise<Page<ProcessorCapture>>;
  /** The processor's capture of each payment, whatever its day; a payment without one is absent from the map. */
  capturesOf(payments: ReadonlyArray<{ paymentId: string; authorizationId?: string }>): Promise<Map<string, ProcessorCapture>>;
}
