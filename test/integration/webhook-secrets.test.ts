// Webhook signing secrets, envelope-encrypted with KMS: the cipher and the Webhooks-table adapter on DynamoDB Local and
// the runner's local KMS behind its authorizing proxy, with two roles shaped like the stack's grants (the endpoints
// function: kms:GenerateDataKey; the dispatcher: kms:Decrypt).
import { randomUUID } from 'node:crypto';
import { KMSClient } from '@aws-sdk/client-kms';
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebhooksTable } from '../../lambdas/adapters/dynamodb/webhooks-table.ts';
import { KmsEnvelopeCipher } from '../../lambdas/adapters/kms/envelope-cipher.ts';
import { newWebhookEndpointId, newWebhookSecret, type WebhookEndpoint } from '../../lambdas/domain/webhooks.ts';
import { IamAuthorizer, type LocalPrincipal } from '../../tools/local-runner/iam/authorizer.ts';
import { startAuthorizingProxy, type AuthorizingProxy } from '../../tools/local-runner/iam/proxy.ts';
import type { LocalRole } from '../../tools/local-runner/iam/roles.ts';
import { startLocalKms, type LocalKms } from '../../tools/local-runner/kms/emulator.ts';
import { LOCAL_IDENTITY } from '../../tools/local-runner/identity.ts';
import { keyArnOfCiphertext } from '../../tools/local-runner/kms/emulator.ts';
import { createTestTables, documentClient } from '../support/aws.ts';

const ACCOUNT = LOCAL_IDENTITY.accountId;
const role = (name: string, action: string, resource: string): LocalRole => ({
  logicalId: name,
  roleName: `Payflow-${name}`,
  arn: `arn:aws:iam::${ACCOUNT}:role/Payflow-${name}`,
  trustedServices: ['lambda.amazonaws.com'],
  policies: [{ name: `${name}Policy`, policy: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: action, Resource: resource }] as never } }],
  awsManagedPolicyArns: [],
});

let kms: LocalKms;
let proxy: AuthorizingProxy;
let keyArn: string;
let tableName: string;
const answered: string[] = [];
const clientAs = (accessKeyId: string) => new KMSClient({ region: LOCAL_IDENTITY.region, endpoint: proxy.endpoint, credentials: { accessKeyId, secretAccessKey: 'local' } });
let endpointsCipher: KmsEnvelopeCipher;
let dispatcherCipher: KmsEnvelopeCipher;

beforeAll(async () => {
  kms = await startLocalKms({ keys: [{ logicalId: 'SigningSecretsKey' }, { logicalId: 'OtherKey' }], identity: LOCAL_IDENTITY });
  keyArn = kms.keys[0]!.arn;
  const endpointsRole = role('EndpointsFunctionRole', 'kms:GenerateDataKey', keyArn);
  const dispatcherRole = role('DispatcherRole', 'kms:Decrypt', keyArn);
  const principals = new Map<string, LocalPrincipal>([
    ['ASIAENDPOINTS', { role: endpointsRole, sessionName: 'endpoints' }],
    ['ASIADISPATCHER', { role: dispatcherRole, sessionName: 'dispatcher' }],
  ]);
  proxy = await startAuthorizingProxy({
    upstream: kms.endpoint,
    authorizer: new IamAuthorizer(new Map([[endpointsRole.logicalId, endpointsRole], [dispatcherRole.logicalId, dispatcherRole]]), ACCOUNT),
    principals,
    names: {
      tableArn: (name) => name,
      queueArn: (url) => url,
      keyOfCiphertext: keyArnOfCiphertext,
      // CDK's default key policy: the account's IAM policies decide.
      keyPolicy: (arn) => (arn === keyArn ? { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] as never } : undefined),
      region: LOCAL_IDENTITY.region,
      accountId: ACCOUNT,
    },
    onAnswered: (operation) => answered.push(operation),
  });
  endpointsCipher = new KmsEnvelopeCipher(keyArn, clientAs('ASIAENDPOINTS'));
  dispatcherCipher = new KmsEnvelopeCipher(keyArn, clientAs('ASIADISPATCHER'));
  tableName = (await createTestTables()).WEBHOOKS_TABLE_NAME!;
});
afterAll(async () => {
  await proxy?.close();
  await kms?.close();
});

const context = { merchantId: 'm1', webhookEndpoint: 'we_1' };

describe('the KMS envelope cipher on the local KMS, authorized as the stack grants it', () => {
  it('the endpoints role seals but cannot open; the dispatcher role opens, once per data key, but cannot seal', async () => {
    const secret = newWebhookSecret();
    const sealed = await endpointsCipher.seal(secret, context);
    expect(sealed).toMatch(/^kms1:/);
    expect(sealed).not.toContain(secret.slice(6));
    await expect(endpointsCipher.open(sealed, context)).rejects.toThrow(/not authorized to perform: kms:Decrypt on resource: arn:aws:kms:[^ ]+:key\//);
    await expect(dispatcherCipher.seal(secret, context)).rejects.toThrow(/not authorized to perform: kms:GenerateDataKey/);

    const decrypts = () => answered.filter((operation) => operation === 'Decrypt').length;
    const before = decrypts();
    expect(await dispatcherCipher.open(sealed, context)).toBe(secret);
    expect(await dispatcherCipher.open(sealed, context)).toBe(secret);
    expect(decrypts() - before).toBe(1);
  });

  it('a sealed secret opens only in its own context, and not once tampered with', async () => {
    const sealed = await endpointsCipher.seal(newWebhookSecret(), context);
    await expect(dispatcherCipher.open(sealed, { ...context, webhookEndpoint: 'we_2' })).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
    const parts = sealed.split(':');
    const tampered = [...parts.slice(0, 4), Buffer.from('x'.repeat(10)).toString('base64')].join(':');
    await expect(dispatcherCipher.open(tampered, context)).rejects.toThrow();
  });
});

describe('the Webhooks table keeps the secrets sealed', () => {
  const endpoint = (merchantId: string): WebhookEndpoint => ({ id: newWebhookEndpointId(), merchantId, url: 'https://example.com/h', enabledEvents: ['*'], status: 'enabled', created: 1_796_000_000 });

  it('stores no plaintext, reads endpoints without secrets, and opens current and previous secrets only to sign', async () => {
    const writer = new WebhooksTable(tableName, documentClient(), endpointsCipher);
    const signer = new WebhooksTable(tableName, documentClient(), dispatcherCipher);
    const created = endpoint(`merchant-${randomUUID().slice(0, 8)}`);
    const first = newWebhookSecret();
    await writer.createEndpoint(created, first);
    const key = { PK: `MERCHANT#${created.merchantId}`, SK: `ENDPOINT#${created.id}` };
    const stored = (await documentClient().send(new GetCommand({ TableName: tableName, Key: key }))).Item!;
    expect(JSON.stringify(stored)).not.toContain(first);
    expect(stored.secret).toMatch(/^kms1:/);
    expect(await writer.getEndpoint(created.merchantId, created.id)).toEqual(created);
    expect(await writer.listEndpoints(created.merchantId)).toEqual([created]);

    const second = newWebhookSecret();
    expect(await writer.rollSecret(created.merchantId, created.id, { secret: second, previousSecretExpiresAt: Math.floor(Date.now() / 1000) + 3600 })).toEqual(created);
    const signing = await signer.getSigningEndpoint(created.merchantId, created.id);
    expect(signing?.endpoint).toEqual(created);
    expect(await signing!.secrets()).toMatchObject({ secret: second, previousSecret: first });
  });

  it('an expired previous secret is not decrypted; a secret stored before encryption (plain whsec_) is read as it is', async () => {
    const signer = new WebhooksTable(tableName, documentClient(), dispatcherCipher);
    const legacy = endpoint(`merchant-${randomUUID().slice(0, 8)}`);
    await documentClient().send(new PutCommand({
      TableName: tableName,
      Item: { PK: `MERCHANT#${legacy.merchantId}`, SK: `ENDPOINT#${legacy.id}`, ...legacy, secret: 'whsec_legacy', previousSecret: 'kms1:garbage', previousSecretExpiresAt: 1 },
    }));
    expect(await (await signer.getSigningEndpoint(legacy.merchantId, legacy.id))!.secrets()).toEqual({ secret: 'whsec_legacy' });
    // A table adapter without a cipher (the recorder's, the events API's) cannot store a secret.
    await expect(new WebhooksTable(tableName, documentClient()).createEndpoint(endpoint('m'), newWebhookSecret())).rejects.toThrow(/no secret cipher/);
  });
});
