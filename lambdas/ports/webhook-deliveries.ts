/** Webhook deliveries: the queued request to deliver one event to one endpoint, and the HTTP call that does it. */

/** A delivery waiting in the delivery queue. */
export interface DeliveryRequest {
  merchantId: string;
  eventId: string;
  endpointId: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Unix seconds of the first attempt's scheduling: the retry window runs from it. */
  firstScheduledAt: number;
  /** Unix seconds before which it must not be attempted (a wait longer than one queue delay is chained). */
  notBefore?: number;
  lastStatus?: number;
  lastError?: string;
}

export interface WebhookPostResult {
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why there was no 2xx: the connection failed, timed out, or the address was refused. */
  error?: string;
}

export interface WebhookSender {
  /** POSTs the body; never rejects. Only a 2xx within the timeout counts as delivered. */
  post(url: string, body: string, headers: Record<string, string>): Promise<WebhookPostResult>;
}
