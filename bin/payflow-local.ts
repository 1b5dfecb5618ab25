/**
 * What makes the local runner (tools/local-runner, which knows nothing of Payflow) run Payflow.
 */
import type { MalformedRequestBody } from '../tools/local-runner/api-gateway/malformed-requests.ts';

/** Requests the HTTP parser refuses get the API's error shape and codes (README "Errors"). */
export const PAYFLOW_MALFORMED_REQUEST_BODY: MalformedRequestBody = ({ reason, message }) => {
  const code = { BAD_REQUEST: 'bad_request', REQUEST_HEADER_FIELDS_TOO_LARGE: 'request_header_fields_too_large', REQUEST_TIMEOUT: 'request_timeout' }[reason];
  return JSON.stringify({ error: { type: 'invalid_request_error', code, message } });
};
