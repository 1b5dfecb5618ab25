/**
 * Every SDK client of the functions gives up on a stalled call well inside the function's timeout (issue 10:
 * without a request timeout one slow DynamoDB call used up the whole invocation, and its caller could not tell
 * that from a crash).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { dynamodb } from '#commons/dynamodb';
import { kms } from '#commons/kms';
import { SDK_CONNECTION_TIMEOUT_MS, SDK_MAX_ATTEMPTS, SDK_REQUEST_TIMEOUT_MS, SDK_WORST_CASE_MS } from '#commons/sdk-settings';
import { sfn } from '#commons/sfn';
import { sqs } from '#commons/sqs';

describe('SDK request timeouts and retries', () => {
  it('each client has the request and connection timeouts and the attempts of sdk-settings.ts', async () => {
    for (const client of [dynamodb, sqs(), kms(), sfn]) {
      expect(await client.config.maxAttempts()).toBe(SDK_MAX_ATTEMPTS);
      const handler = client.config.requestHandler as unknown as { configProvider: Promise<{ requestTimeout?: number; connectionTimeout?: number }> };
      expect(await handler.configProvider).toMatchObject({ requestTimeout: SDK_REQUEST_TIMEOUT_MS, connectionTimeout: SDK_CONNECTION_TIMEOUT_MS });
    }
  });

  it('the SQS and KMS clients, made on first use, are made once: every later call gets the same client', () => {
    expect(sqs()).toBe(sqs());
    expect(kms()).toBe(kms());
  });

  it("a call's worst case (every attempt timing out, with the SDK's backoff) ends before any function's timeout", () => {
    const template = JSON.parse(readFileSync(join(inject('cdkOut'), 'Payflow.template.json'), 'utf8')) as { Resources: Record<string, { Type: string; Properties: { Timeout?: number } }> };
    const timeouts = Object.entries(template.Resources).filter(([, resource]) => resource.Type === 'AWS::Lambda::Function').map(([id, resource]) => [id, resource.Properties.Timeout ?? 3] as const);
    expect(timeouts.length).toBeGreaterThan(10);
    for (const [id, seconds] of timeouts) expect(SDK_WORST_CASE_MS, id).toBeLessThan(seconds * 1000 - 1_000);
  });
});
