/** The event a Lambda proxy integration of a REST API hands the function (payload format 1.0). */
import type { APIGatewayProxyEvent } from 'aws-lambda';
import { grouped, headerPairs, lowerCaseLookup } from './headers.ts';

/** What a REST proxy event is built from: the matched method and the request as it arrived. */
export interface ProxyRequest {
  resource: string;
  resourceId: string;
  httpMethod: string;
  /** The path inside the stage, e.g. `/payments/pay_1`. */
  path: string;
  /** Header names and values in arrival order, as node's `IncomingMessage.rawHeaders`. */
  rawHeaders: readonly string[];
  query: ReadonlyArray<readonly [string, string]>;
  pathParameters: Record<string, string>;
  stageVariables: Record<string, string>;
  body: string | null;
  isBase64Encoded: boolean;
  stage: string;
  apiId: string;
  accountId: string;
  region: string;
  requestId: string;
  extendedRequestId: string;
  startedAt: Date;
  protocol: string;
  sourceIp: string;
  /** The API key the gateway authenticated, when the method requires one. */
  apiKey?: { id: string; value: string };
}

/** The Lambda proxy integration event of a REST API (payload 1.0), as API Gateway builds it: empty maps are null. */
export function restProxyEvent(request: ProxyRequest): APIGatewayProxyEvent {
  const [headers, multiValueHeaders] = grouped(headerPairs(request.rawHeaders));
  const [query, multiValueQuery] = grouped(request.query);
  const orNull = <T extends object>(map: T) => (Object.keys(map).length > 0 ? map : null);
  return {
    resource: request.resource,
    path: request.path,
    httpMethod: request.httpMethod,
    headers: orNull(headers),
    multiValueHeaders: orNull(multiValueHeaders),
    queryStringParameters: orNull(query),
    multiValueQueryStringParameters: orNull(multiValueQuery),
    pathParameters: orNull(request.pathParameters),
    stageVariables: orNull(request.stageVariables),
    requestContext: {
      resourceId: request.resourceId,
      resourcePath: request.resource,
      httpMethod: request.httpMethod,
      extendedRequestId: request.extendedRequestId,
      requestTime: requestTime(request.startedAt),
      path: `/${request.stage}${request.path === '/' ? '/' : request.path}`,
      accountId: request.accountId,
      protocol: request.protocol,
      stage: request.stage,
      domainPrefix: request.apiId,
      requestTimeEpoch: request.startedAt.getTime(),
      requestId: request.requestId,
      identity: {
        cognitoIdentityPoolId: null,
        accountId: null,
        cognitoIdentityId: null,
        caller: null,
        sourceIp: request.sourceIp,
        principalOrgId: null,
        accessKey: null,
        cognitoAuthenticationType: null,
        cognitoAuthenticationProvider: null,
        userArn: null,
        userAgent: lowerCaseLookup(headers, 'user-agent') ?? null,
        user: null,
        apiKey: request.apiKey?.value,
        apiKeyId: request.apiKey?.id,
      },
      domainName: lowerCaseLookup(headers, 'host') ?? `${request.apiId}.execute-api.${request.region}.amazonaws.com`,
      apiId: request.apiId,
    },
    body: request.body,
    isBase64Encoded: request.isBase64Encoded,
  } as APIGatewayProxyEvent;
}

function requestTime(date: Date): string {
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${pad(date.getUTCDate())}/${months[date.getUTCMonth()]}/${date.getUTCFullYear()}:${pad(date.getUTCHours())}:${pad(date.getUTCMinutes())}:${pad(date.getUTCSeconds())} +0000`;
}
