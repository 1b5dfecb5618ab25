/**
 * SQS's size and batch limits, as fauxqs 1.9.2 enforces them (checked against it: it refuses each one with AWS's
 * error code) with AWS's wording where fauxqs's differs. Values checked 2026-12-01:
 * - a message (body plus attributes): at most the queue's MaximumMessageSize, 1 MiB (1,048,576 bytes) at most and
 *   by default since August 2025 (was 256 KiB) — SendMessage, Amazon SQS API Reference,
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html; over it SendMessage is
 *   `InvalidParameterValue` "One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes."
 *   and a SendMessageBatch entry fails with the same code and message;
 * - SendMessageBatch: at most 10 entries (`TooManyEntriesInBatchRequest`, "Maximum number of entries per request are
 *   10. You have sent 11.") and at most 1 MiB for all its messages together, FIFO queues included
 *   (`BatchRequestTooLong`, "Batch requests cannot be longer than 1048576 bytes. You have sent 1048577 bytes.") —
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessageBatch.html and
 *   https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/quotas-messages.html. fauxqs leaves
 *   out the "You have sent ..." part, added here.
 */

export const SQS_BATCH_MAX_ENTRIES = 10;
export const SQS_BATCH_MAX_BYTES = 1024 * 1024;

type Attributes = Record<string, { DataType?: string; StringValue?: string; BinaryValue?: string }>;
type Handler = (body: Record<string, any>, store: unknown, request: unknown) => any;

/** A message's size as SQS counts it: the body plus each attribute's name, data type and value, in UTF-8 bytes. */
export function messageSize(body: string, attributes: Attributes = {}): number {
  let size = Buffer.byteLength(body ?? '');
  for (const [name, attribute] of Object.entries(attributes)) {
    size += Buffer.byteLength(name) + Buffer.byteLength(attribute.DataType ?? '');
    size += Buffer.byteLength(attribute.StringValue ?? '') + Buffer.byteLength(attribute.BinaryValue ?? '');
  }
  return size;
}

/** fauxqs's SendMessage / SendMessageBatch with AWS's wording of the size and batch errors. */
export function withSqsLimitMessages(action: string, handler: Handler): Handler {
  if (action === 'SendMessage') {
    return (body, store, request) => {
      try {
        return handler(body, store, request);
      } catch (error) {
        // fauxqs prefixes the x-amzn-query-error code (AWS.SimpleQueueService.InvalidParameterValue): SQS sends the
        // bare code, which the SDK names the error by.
        if ((error as { code?: string }).code === 'InvalidParameterValue' && /Message must be shorter than/.test((error as Error).message)) {
          Object.defineProperty(error, 'queryErrorHeader', { value: 'InvalidParameterValue;Sender' });
        }
        throw error;
      }
    };
  }
  if (action === 'SendMessageBatch') {
    return (body, store, request) => {
      try {
        return handler(body, store, request);
      } catch (error) {
        const entries: Array<{ MessageBody: string; MessageAttributes?: Attributes }> = body.Entries ?? [];
        const code = (error as { code?: string }).code;
        if (code === 'TooManyEntriesInBatchRequest') {
          (error as Error).message = `Maximum number of entries per request are ${SQS_BATCH_MAX_ENTRIES}. You have sent ${entries.length}.`;
        } else if (code === 'BatchRequestTooLong') {
          const total = entries.reduce((sum, entry) => sum + messageSize(entry.MessageBody, entry.MessageAttributes), 0);
          (error as Error).message = `Batch requests cannot be longer than ${SQS_BATCH_MAX_BYTES} bytes. You have sent ${total} bytes.`;
        }
        throw error;
      }
    };
  }
  return handler;
}
