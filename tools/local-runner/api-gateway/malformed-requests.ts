/**
 * Requests Node's HTTP parser refuses before they are requests at all (the server's 'clientError'): a
 * control character in a header value, raw non-ASCII or a space in the path, headers over 16 KB, bytes
 * that are not HTTP. On AWS the edge in front of API Gateway refuses these in its own format, so no
 * gateway response of the template applies: the front answers them with a status and a body the caller
 * chooses (`ApiGatewayOptions.malformedRequestBody`), never Node's empty 400/431.
 */
export const MALFORMED_REQUESTS = {
  BAD_REQUEST: { status: 400, message: 'The request is not valid HTTP: its request line or a header has characters HTTP does not allow.' },
  REQUEST_HEADER_FIELDS_TOO_LARGE: { status: 431, message: 'The request headers are larger than 16 KB.' },
  REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time.' },
} as const;

export type MalformedRequestReason = keyof typeof MALFORMED_REQUESTS;

/** A request the parser refused: why, the status it gets, and a sentence saying so. */
export interface MalformedRequest {
  reason: MalformedRequestReason;
  status: number;
  message: string;
}

/** The body of the answer to a malformed request (JSON); by default `{"message": ...}`. */
export type MalformedRequestBody = (request: MalformedRequest) => string;

export const defaultMalformedRequestBody: MalformedRequestBody = ({ message }) => JSON.stringify({ message });

export function malformedRequest(code: string | undefined): MalformedRequest {
  const reason: MalformedRequestReason = code === 'HPE_HEADER_OVERFLOW' ? 'REQUEST_HEADER_FIELDS_TOO_LARGE' : code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'REQUEST_TIMEOUT' : 'BAD_REQUEST';
  return { reason, ...MALFORMED_REQUESTS[reason] };
}

/**
 * The method and path of a request line whose only fault is its method (a token HTTP allows but Node's
 * parser does not know, like `FOO` or `get`): API Gateway takes such a request and answers it as a
 * method the API does not have.
 */
export function unknownMethodRequestLine(rawPacket: Buffer | undefined): { method: string; target: string } | undefined {
  const line = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\/[\x21-\x7e]*) HTTP\/1\.[01]\r?\n/.exec(rawPacket?.toString('latin1') ?? '');
  return line ? { method: line[1]!, target: line[2]! } : undefined;
}
