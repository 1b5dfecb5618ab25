import { describe, expect, it } from 'vitest';
import { IamAuthorizer, resourcePolicyAllowsService, type LocalPrincipal } from '../../../tools/local-runner/iam/authorizer.ts';
import { accessKeyIdOf } from '../../../tools/local-runner/iam/proxy.ts';
import { accessRequests, parseTarget, type ResourceNames } from '../../../tools/local-runner/iam/requests.ts';
import { rolesFromTemplate, type LocalRole } from '../../../tools/local-runner/iam/roles.ts';
import { createIntrinsicResolver, type TemplateValue } from '../../../tools/local-runner/intrinsics.ts';
import type { CfnTemplate } from '../../../tools/local-runner/template.ts';

const ACCOUNT = '000000000000';
const TABLE = `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/Payments`;
const OTHER_TABLE = `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/Processor`;

const role = (statements: unknown[]): LocalRole => ({
  logicalId: 'FnRole',
  roleName: 'Stack-FnRole',
  arn: `arn:aws:iam::${ACCOUNT}:role/Stack-FnRole`,
  trustedServices: ['lambda.amazonaws.com'],
  policies: [{ name: 'FnRoleDefaultPolicy', policy: { Version: '2012-10-17', Statement: statements as never } }],
  awsManagedPolicyArns: [],
});
const principal = (statements: unknown[]): LocalPrincipal => ({ role: role(statements), sessionName: 'create-payment' });
const names: ResourceNames = {
  tableArn: (name) => `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/${name}`,
  queueArn: (url) => `arn:aws:sqs:us-east-1:${ACCOUNT}:${url.split('/').pop()}`,
  region: 'us-east-1',
  accountId: ACCOUNT,
};

describe('the local IAM authorizer (iam-simulate on the synthesized policies)', () => {
  it('allows an action a statement grants on the resource, and records it as used', async () => {
    const caller = principal([{ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: TABLE }]);
    const authorizer = new IamAuthorizer(new Map([['FnRole', caller.role]]), ACCOUNT);
    expect(await authorizer.authorize(caller, [{ action: 'dynamodb:PutItem', resource: TABLE }])).toBeUndefined();
    expect([...authorizer.used.get('FnRole')!.get('dynamodb:PutItem')!]).toEqual([TABLE]);
  });

  it("denies what no statement grants with AWS's message naming the assumed role, the action and the resource", async () => {
    const caller = principal([{ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: TABLE }]);
    const authorizer = new IamAuthorizer(new Map(), ACCOUNT);
    const denial = await authorizer.authorize(caller, [{ action: 'dynamodb:GetItem', resource: TABLE }]);
    expect(denial?.message).toBe(
      `User: arn:aws:sts::${ACCOUNT}:assumed-role/Stack-FnRole/create-payment is not authorized to perform: dynamodb:GetItem on resource: ${TABLE} because no identity-based policy allows the dynamodb:GetItem action`,
    );
    expect(authorizer.denials).toHaveLength(1);
  });

  it('an explicit Deny wins over an Allow; wildcards and NotAction are evaluated as IAM does', async () => {
    const authorizer = new IamAuthorizer(new Map(), ACCOUNT);
    const denied = await authorizer.authorize(
      principal([
        { Effect: 'Allow', Action: 'dynamodb:*', Resource: '*' },
        { Effect: 'Deny', Action: 'dynamodb:DeleteItem', Resource: TABLE },
      ]),
      [{ action: 'dynamodb:DeleteItem', resource: TABLE }],
    );
    expect(denied?.message).toContain('with an explicit deny in an identity-based policy');
    const notAction = principal([{ Effect: 'Allow', NotAction: 'dynamodb:Scan', Resource: `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/*` }]);
    expect(await authorizer.authorize(notAction, [{ action: 'dynamodb:Query', resource: TABLE }])).toBeUndefined();
    expect(await authorizer.authorize(notAction, [{ action: 'dynamodb:Scan', resource: TABLE }])).toBeDefined();
  });

  it('authorizes a transaction item by item, each with its own action, and a batch table by table', () => {
    const requests = accessRequests(
      'dynamodb',
      'TransactWriteItems',
      {
        TransactItems: [
          { Put: { TableName: 'Payments', Item: {} } },
          { Update: { TableName: 'Payments', Key: {} } },
          { ConditionCheck: { TableName: 'Processor', Key: {} } },
          { Delete: { TableName: 'Processor', Key: {} } },
        ],
      },
      names,
    );
    expect(requests).toEqual([
      { action: 'dynamodb:PutItem', resource: TABLE },
      { action: 'dynamodb:UpdateItem', resource: TABLE },
      { action: 'dynamodb:ConditionCheckItem', resource: OTHER_TABLE },
      { action: 'dynamodb:DeleteItem', resource: OTHER_TABLE },
    ]);
    expect(accessRequests('dynamodb', 'BatchWriteItem', { RequestItems: { Payments: [], Processor: [] } }, names).map((r) => r.resource)).toEqual([TABLE, OTHER_TABLE]);
    expect(accessRequests('dynamodb', 'Query', { TableName: 'Payments', IndexName: 'open-items' }, names)).toEqual([{ action: 'dynamodb:Query', resource: `${TABLE}/index/open-items` }]);
    expect(accessRequests('sqs', 'SendMessageBatch', { QueueUrl: 'http://sqs.localhost:1/000000000000/events.fifo' }, names)).toEqual([
      { action: 'sqs:SendMessage', resource: `arn:aws:sqs:us-east-1:${ACCOUNT}:events.fifo` },
    ]);
  });

  it('KMS: authorized on the key KeyId names, or for Decrypt the key the ciphertext was made with', () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-0000-4000-8000-000000000000`;
    const withCiphertexts: ResourceNames = { ...names, keyOfCiphertext: (blob) => (blob === 'YmxvYg==' ? key : undefined) };
    expect(parseTarget('TrentService.GenerateDataKey')).toEqual({ service: 'kms', operation: 'GenerateDataKey' });
    expect(accessRequests('kms', 'GenerateDataKey', { KeyId: '1234abcd-0000-4000-8000-000000000000' }, withCiphertexts)).toEqual([{ action: 'kms:GenerateDataKey', resource: key }]);
    expect(accessRequests('kms', 'GenerateDataKey', { KeyId: key }, withCiphertexts)).toEqual([{ action: 'kms:GenerateDataKey', resource: key }]);
    expect(accessRequests('kms', 'Decrypt', { CiphertextBlob: 'YmxvYg==' }, withCiphertexts)).toEqual([{ action: 'kms:Decrypt', resource: key }]);
  });

  it("KMS: the role's grant works only under a key policy that allows it (CDK's default trusts the account)", async () => {
    const key = `arn:aws:kms:us-east-1:${ACCOUNT}:key/1234abcd-0000-4000-8000-000000000000`;
    const caller = principal([{ Effect: 'Allow', Action: 'kms:Decrypt', Resource: key }]);
    const trustsAccount = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' }] } as never;
    const authorizer = new IamAuthorizer(new Map(), ACCOUNT);
    const decrypt = (keyPolicy?: unknown) => accessRequests('kms', 'Decrypt', { KeyId: key }, { ...names, keyPolicy: () => keyPolicy as never });
    expect(await authorizer.authorize(caller, decrypt(trustsAccount))).toBeUndefined();
    expect(await authorizer.authorize(caller, accessRequests('kms', 'GenerateDataKey', { KeyId: key }, { ...names, keyPolicy: () => trustsAccount }))).toBeDefined();
    expect(await new IamAuthorizer(new Map(), ACCOUNT).authorize(caller, decrypt({ Version: '2012-10-17', Statement: [] }))).toBeDefined();
  });

  it('a transaction with one item not granted is denied as a whole, naming that item', async () => {
    const caller = principal([{ Effect: 'Allow', Action: ['dynamodb:PutItem'], Resource: TABLE }]);
    const authorizer = new IamAuthorizer(new Map(), ACCOUNT);
    const requests = accessRequests('dynamodb', 'TransactWriteItems', { TransactItems: [{ Put: { TableName: 'Payments' } }, { Update: { TableName: 'Payments' } }] }, names);
    const denial = await authorizer.authorize(caller, requests);
    expect(denial?.action).toBe('dynamodb:UpdateItem');
    expect(authorizer.used.get('FnRole')).toBeUndefined();
  });

  it('reads the service and operation from X-Amz-Target, and the access key id from the SigV4 header', () => {
    expect(parseTarget('DynamoDB_20120810.PutItem')).toEqual({ service: 'dynamodb', operation: 'PutItem' });
    expect(parseTarget('AmazonSQS.SendMessageBatch')).toEqual({ service: 'sqs', operation: 'SendMessageBatch' });
    expect(parseTarget('AWSStepFunctions.StartExecution')).toEqual({ service: 'states', operation: 'StartExecution' });
    expect(accessKeyIdOf('AWS4-HMAC-SHA256 Credential=ASIALOCAL3XFnRole/20261201/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc')).toBe('ASIALOCAL3XFnRole');
  });

  it("resolves a role's policies from the template: AWS::IAM::Policy resources naming it, intrinsics resolved", () => {
    const template: CfnTemplate = {
      Resources: {
        Table: { Type: 'AWS::DynamoDB::Table' },
        FnRole: { Type: 'AWS::IAM::Role', Properties: { AssumeRolePolicyDocument: { Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } }] } } },
        FnRolePolicy: {
          Type: 'AWS::IAM::Policy',
          Properties: {
            Roles: [{ Ref: 'FnRole' }],
            PolicyDocument: { Statement: [{ Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: [{ 'Fn::GetAtt': ['Table', 'Arn'] }, { 'Fn::Join': ['', [{ 'Fn::GetAtt': ['Table', 'Arn'] }, '/index/*']] }] }] },
          },
        },
      },
    } as never;
    const resolve = createIntrinsicResolver({ ref: (id) => id, getAtt: (id) => `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/${id}` as TemplateValue });
    const roles = rolesFromTemplate(template, resolve, { accountId: ACCOUNT }, 'Stack');
    expect(roles.get('FnRole')).toMatchObject({ roleName: 'Stack-FnRole', trustedServices: ['lambda.amazonaws.com'] });
    expect(roles.get('FnRole')!.policies[0]!.policy.Statement).toEqual([
      { Effect: 'Allow', Action: 'dynamodb:GetItem', Resource: [`arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/Table`, `arn:aws:dynamodb:ddblocal:${ACCOUNT}:table/Table/index/*`] },
    ]);
  });

  it("a function's resource policy (its AWS::Lambda::Permission) lets API Gateway invoke it from the granted method only", async () => {
    const fn = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:create-payment`;
    const policy = {
      Version: '2012-10-17',
      Statement: [
        { Effect: 'Allow' as const, Principal: { Service: 'apigateway.amazonaws.com' }, Action: 'lambda:InvokeFunction', Resource: fn, Condition: { ArnLike: { 'aws:SourceArn': `arn:aws:execute-api:us-east-1:${ACCOUNT}:api/*/POST/payments` } } },
      ],
    };
    const invoke = { action: 'lambda:InvokeFunction', resource: fn };
    expect(await resourcePolicyAllowsService(policy, 'apigateway.amazonaws.com', invoke, ACCOUNT, `arn:aws:execute-api:us-east-1:${ACCOUNT}:api/v1/POST/payments`)).toBe(true);
    expect(await resourcePolicyAllowsService(policy, 'apigateway.amazonaws.com', invoke, ACCOUNT, `arn:aws:execute-api:us-east-1:${ACCOUNT}:api/v1/GET/payments`)).toBe(false);
    expect(await resourcePolicyAllowsService({ Version: '2012-10-17', Statement: [] }, 'apigateway.amazonaws.com', invoke, ACCOUNT)).toBe(false);
  });
});
