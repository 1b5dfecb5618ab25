/**
 * Swapped in for `@aws-lambda-powertools/tracer` when a stack is synthesized with
 * `payflow:sdkTracing=false` (PayflowFunction): Lambda's active tracing still records every
 * invocation in X-Ray, without the per-call subsegments the X-Ray SDK adds — and without the ~22 ms
 * the SDK costs every cold start (see `npm run bench`). Only the methods this project calls exist.
 */
export class Tracer {
  constructor(_options?: unknown) {}
  captureAWSv3Client<Client>(client: Client): Client {
    return client;
  }
  getSegment(): undefined {
    return undefined;
  }
  setSegment(_segment: unknown): void {}
  annotateColdStart(): void {}
  addServiceNameAnnotation(): void {}
  putAnnotation(_key: string, _value: string | number | boolean): void {}
  addErrorAsMetadata(_error: Error): void {}
}
