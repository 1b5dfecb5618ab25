/** A queue the use cases send to: the events queue, a dead-letter queue, the saga-failures queue. */
export interface OutgoingMessage {
  /** Identifies the message to the caller (it is not sent). */
  key: string;
  /** Sent as JSON. */
  payload: unknown;
  /** FIFO: messages of one group are delivered in order. */
  groupId?: string;
  deduplicationId?: string;
  attributes?: Record<string, string>;
  /** Standard queues: seconds (0–900) before the message can be received. */
  delaySeconds?: number;
}

export interface OutboundQueue {
  /** Sends the messages; resolves to the failed ones' errors by key (empty when all were accepted), never rejects. */
  send(messages: readonly OutgoingMessage[]): Promise<Map<string, Error>>;
  /**
   * Sends so that, within a group, a message is sent only after the one before it was accepted; a
   * failed message fails the rest of its group with it, unless the queue refused it for what it is
   * (MessageRefused), which no retry can change.
   */
  sendInGroupOrder(messages: readonly OutgoingMessage[]): Promise<Map<string, Error>>;
}

/** The queue refused this message for what it is (too large, characters it does not take): sending it again cannot succeed. */
export class MessageRefused extends Error {
  override readonly name = 'MessageRefused';
  constructor(
    readonly code: string,
    detail: string,
  ) {
    super(`${code}: ${detail}`.trim());
  }
}

/** The queue's error code of a failure, for logs. */
export const errorCodeOf = (error: Error): string => ('code' in error && typeof error.code === 'string' ? error.code : error.name);
