/**
 * What a use case can refuse, in the use case's words. The API's adapter (commons/http.ts) answers
 * each with its status and code from the wire contract; no use case knows HTTP.
 */

/** The idempotency key was used before for another request (another body, route or payment). */
export class RequestMismatch extends Error {
  override readonly name = 'RequestMismatch';
}

/** The payment does not exist, or belongs to another merchant: the two are not told apart. */
export class PaymentNotVisible extends Error {
  override readonly name = 'PaymentNotVisible';
}

/** Concurrent writers kept winning the races on the same payment: nothing was written, retry later. */
export class PaymentBusy extends Error {
  override readonly name = 'PaymentBusy';
}

/** The event does not exist, expired, or belongs to another merchant: the three are not told apart. */
export class EventNotVisible extends Error {
  override readonly name = 'EventNotVisible';
}

/** The webhook endpoint does not exist or belongs to another merchant. */
export class WebhookEndpointNotVisible extends Error {
  override readonly name = 'WebhookEndpointNotVisible';
}

/** A webhook endpoint URL that may not be called (not HTTPS, a private address, ...). */
export class WebhookUrlRefused extends Error {
  override readonly name = 'WebhookUrlRefused';
}
