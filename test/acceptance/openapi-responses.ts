/**
 * Every response the acceptance suite receives is checked against the checked-in OpenAPI document
 * (docs/openapi.json): the operation its method and path name (or, for a route the API does not have,
 * the error shape), the schema of its status (or `default`), and its required headers. A response that
 * does not match throws, failing the test that received it.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

interface Operation {
  responses: Record<string, { headers?: Record<string, { required?: boolean }>; content?: Record<string, { schema: unknown }> }>;
}

const DOCUMENT_ID = 'openapi.json';
const document = JSON.parse(readFileSync(resolve(import.meta.dirname, '../../docs/openapi.json'), 'utf8')) as {
  paths: Record<string, Record<string, Operation>>;
};

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats.default(ajv);
ajv.addSchema(document, DOCUMENT_ID);

const pointer = (...segments: string[]) => segments.map((segment) => segment.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');
const validators = new Map<string, ValidateFunction>();
function validator(ref: string): ValidateFunction {
  let validate = validators.get(ref);
  if (!validate) {
    validate = ajv.compile({ $ref: ref });
    validators.set(ref, validate);
  }
  return validate;
}

const routes = Object.keys(document.paths).map((template) => ({
  template,
  pattern: new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`),
}));

/** Throws when the response is not one the document describes. `path` is relative to the stage (`/payments/…`). */
export function checkResponse(method: string, path: string, status: number, headers: Headers, text: string): void {
  const where = `${method} ${path} → ${status}`;
  const route = routes.find(({ pattern }) => pattern.test(path));
  const operation = route && document.paths[route.template]![method.toLowerCase()];
  let schemaRef = `${DOCUMENT_ID}#/components/schemas/Error`;
  let requiredHeaders: string[] = ['x-amzn-RequestId'];
  if (operation) {
    const key = operation.responses[String(status)] ? String(status) : 'default';
    const response = operation.responses[key];
    if (!response) throw new Error(`${where}: the OpenAPI document has no response for this status`);
    schemaRef = `${DOCUMENT_ID}#/${pointer('paths', route.template, method.toLowerCase(), 'responses', key, 'content', 'application/json', 'schema')}`;
    requiredHeaders = Object.entries(response.headers ?? {}).filter(([, header]) => header.required).map(([name]) => name);
  } else if (status < 400) {
    throw new Error(`${where}: a success on a route the OpenAPI document does not have`);
  }
  if (method.toUpperCase() === 'HEAD') return;
  const missing = requiredHeaders.filter((name) => !headers.has(name));
  if (missing.length > 0) throw new Error(`${where}: missing header(s) ${missing.join(', ')} the OpenAPI document requires`);
  if (!/^application\/json/.test(headers.get('content-type') ?? '')) throw new Error(`${where}: Content-Type ${headers.get('content-type')}, the OpenAPI document says application/json`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new Error(`${where}: the body is not JSON: ${text.slice(0, 200)}`);
  }
  const validate = validator(schemaRef);
  if (!validate(body)) {
    throw new Error(`${where}: the body does not match the OpenAPI document (${schemaRef}): ${ajv.errorsText(validate.errors)}\n${text.slice(0, 500)}`);
  }
}

/** A fetch that checks every answer of the API at `apiUrl` with checkResponse (the body is read from a clone). */
export function validatingFetch(apiUrl: string): typeof globalThis.fetch {
  const base = new URL(apiUrl).pathname.replace(/\/$/, '');
  return async (input, init) => {
    const response = await globalThis.fetch(input, init);
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.pathname.startsWith(`${base}/`)) {
      checkResponse(init?.method ?? 'GET', url.pathname.slice(base.length), response.status, response.headers, await response.clone().text());
    }
    return response;
  };
}
