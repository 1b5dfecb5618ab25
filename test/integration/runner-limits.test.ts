// Service limits where AWS enforces them, on the twin's parts, each refused with AWS's error (status, code and
// message; sources and dates beside the constants in tools/local-runner/limits/ and api-gateway/). Where the
// emulator enforces a limit itself (DynamoDB Local: item size, transaction count and size; fauxqs: message and
// batch sizes, 10 entries) this proves the twin refuses it; the rest is the runner's own enforcement.
import { CreateTableCommand, PutItemCommand, TransactWriteItemsCommand, type TransactWriteItem } from '@aws-sdk/client-dynamodb';
import { CreateQueueCommand, SendMessageBatchCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { DescribeExecutionCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAYFLOW_MALFORMED_REQUEST_BODY } from '../../bin/payflow-local.ts';
import { registerApiGatewayReferences } from '../../tools/local-runner/api-gateway/references.ts';
import { startApiGateway, type LocalApiGateway } from '../../tools/local-runner/api-gateway/server.ts';
import { LocalLambdaRuntime } from '../../tools/local-runner/lambda/runtime.ts';
import { LAMBDA_ASYNC_REQUEST_MAX_BYTES, LAMBDA_RESPONSE_MAX_BYTES, LAMBDA_SYNC_REQUEST_MAX_BYTES, recordsWithinPayloadLimit } from '../../tools/local-runner/limits/lambda.ts';
import { STATES_PAYLOAD_MAX_BYTES } from '../../tools/local-runner/limits/step-functions.ts';
import { LocalReferences } from '../../tools/local-runner/references.ts';
import { LocalStepFunctions } from '../../tools/local-runner/step-functions/executions.ts';
import { loadStateMachines } from '../../tools/local-runner/step-functions/machines.ts';
import { startStepFunctionsServer, type StepFunctionsServer } from '../../tools/local-runner/step-functions/server.ts';
import { resourcesOfType, type CfnTemplate } from '../../tools/local-runner/template.ts';
import { dynamodbClient, sqsClient, testTemplate } from '../support/aws.ts';
import { fixtureFunction, writeFixtureAssets } from './runner-fixtures.ts';

const MiB = 1024 * 1024;
let runtime: LocalLambdaRuntime;
beforeAll(() => {
  runtime = new LocalLambdaRuntime([fixtureFunction(writeFixtureAssets().ok, 'echo', { maxConcurrency: 4 })]);
});
afterAll(() => runtime.stop());

describe('SQS (fauxqs): message size, batch entries and batch size, with AWS errors', () => {
  const sqs = sqsClient();
  afterAll(() => sqs.destroy());
  const queue = async (fifo: boolean) =>
    (await sqs.send(new CreateQueueCommand({ QueueName: `limits-${randomUUID().slice(0, 8)}${fifo ? '.fifo' : ''}`, Attributes: fifo ? { FifoQueue: 'true' } : undefined }))).QueueUrl!;

  it('a message of 1 MiB is accepted; one byte more is InvalidParameterValue "Message must be shorter than 1048576 bytes."', async () => {
    const url = await queue(false);
    await sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(MiB) }));
    await expect(sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: 'x'.repeat(MiB - 3), MessageAttributes: { a: { DataType: 'String', StringValue: 'yy' } } }))).rejects.toMatchObject({
      name: 'InvalidParameterValue',
      message: 'One or more parameters are invalid. Reason: Message must be shorter than 1048576 bytes.',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('SendMessageBatch: 11 entries is TooManyEntriesInBatchRequest; over 1 MiB in all (FIFO) is BatchRequestTooLong, naming what was sent', async () => {
    const url = await queue(true);
    const entries = (count: number, bytes: number) =>
      Array.from({ length: count }, (_, index) => ({ Id: `e${index}`, MessageBody: 'x'.repeat(bytes), MessageGroupId: 'g', MessageDeduplicationId: `${randomUUID()}` }));
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(11, 10) }))).rejects.toMatchObject({
      name: 'TooManyEntriesInBatchRequest',
      message: 'Maximum number of entries per request are 10. You have sent 11.',
      $metadata: { httpStatusCode: 400 },
    });
    await expect(sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(4, 300 * 1024) }))).rejects.toMatchObject({
      name: 'BatchRequestTooLong',
      message: `Batch requests cannot be longer than 1048576 bytes. You have sent ${4 * 300 * 1024} bytes.`,
    });
    const sent = await sqs.send(new SendMessageBatchCommand({ QueueUrl: url, Entries: entries(10, 100 * 1024) }));
    expect(sent.Successful).toHaveLength(10);
  });
});

// 400 KB per item (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/ServiceQuotas.html); 100 actions
// and 4 MB per TransactWriteItems (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html),
// checked 2026-12-01. DynamoDB Local enforces all three: nothing in the runner re-implements them.
describe('DynamoDB (DynamoDB Local): item size, transaction item count and size', () => {
  const dynamodb = dynamodbClient();
  const table = `limits-${randomUUID().slice(0, 8)}`;
  beforeAll(() =>
    dynamodb.send(new CreateTableCommand({ TableName: table, BillingMode: 'PAY_PER_REQUEST', AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }], KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }] })),
  );
  afterAll(() => dynamodb.destroy());
  const put = (key: string, bytes: number): TransactWriteItem => ({ Put: { TableName: table, Item: { pk: { S: key }, data: { S: 'x'.repeat(bytes) } } } });

  it('an item over 400 KB is ValidationException "Item size has exceeded the maximum allowed size"', async () => {
    await dynamodb.send(new PutItemCommand(put('fits', 400 * 1024 - 100).Put!));
    await expect(dynamodb.send(new PutItemCommand(put('over', 400 * 1024).Put!))).rejects.toMatchObject({
      name: 'ValidationException',
      message: 'Item size has exceeded the maximum allowed size',
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('TransactWriteItems: 100 actions pass, 101 are a ValidationException; over 4 MB in all is a ValidationException', async () => {
    await dynamodb.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 100 }, (_, index) => put(`t${index}`, 10)) }));
    await expect(dynamodb.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 101 }, (_, index) => put(`u${index}`, 10)) }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringContaining('Member must have length less than or equal to 100'),
    });
    await expect(dynamodb.send(new TransactWriteItemsCommand({ TransactItems: Array.from({ length: 11 }, (_, index) => put(`v${index}`, 390 * 1024)) }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: expect.stringMatching(/cannot exceed 4 ?MB/),
    });
  });
});

describe('Lambda: invocation payloads', () => {
  it('a synchronous event over 6 MB is refused before the function runs (RequestEntityTooLargeException, 413)', async () => {
    const padding = 'x'.repeat(LAMBDA_SYNC_REQUEST_MAX_BYTES);
    await expect(runtime.invoke('echo', { padding })).rejects.toMatchObject({
      name: 'RequestEntityTooLargeException',
      statusCode: 413,
      message: 'Request must be smaller than 6291456 bytes for the InvokeFunction operation',
    });
  });

  it('an asynchronous (Event) event over 1 MB is refused; the same event synchronously runs', async () => {
    const event = { padding: 'x'.repeat(LAMBDA_ASYNC_REQUEST_MAX_BYTES) };
    const bytes = Buffer.byteLength(JSON.stringify(event));
    await expect(runtime.invoke('echo', event, 'Event')).rejects.toMatchObject({
      name: 'RequestEntityTooLargeException',
      message: `${bytes} byte payload is too large for the Event invocation type (limit 1048576 bytes)`,
    });
    await expect(runtime.invoke('echo', { action: 'undefined', ...event })).resolves.toBeNull();
  });

  it('a response over 6 MB + 100 bytes fails the invocation with Function.ResponseSizeTooLarge; one at the limit passes', async () => {
    await expect(runtime.invoke('echo', { action: 'large', bytes: LAMBDA_RESPONSE_MAX_BYTES - 1 })).rejects.toMatchObject({
      name: 'Function.ResponseSizeTooLarge',
      message: 'Response payload size exceeded maximum allowed payload size (6291556 bytes).',
    });
    // The JSON of a string is its characters plus two quotes.
    expect(await runtime.invoke('echo', { action: 'large', bytes: LAMBDA_RESPONSE_MAX_BYTES - 2 })).toHaveLength(LAMBDA_RESPONSE_MAX_BYTES - 2);
  });

  it('a stream mapping ends its batch before the event passes 6 MB (never below one record)', () => {
    const records = Array.from({ length: 10 }, (_, index) => ({ eventID: String(index), data: 'x'.repeat(700 * 1024) }));
    const batch = recordsWithinPayloadLimit(records);
    expect(batch).toHaveLength(8);
    expect(Buffer.byteLength(JSON.stringify({ Records: batch }))).toBeLessThanOrEqual(LAMBDA_SYNC_REQUEST_MAX_BYTES);
    expect(Buffer.byteLength(JSON.stringify({ Records: records.slice(0, 9) }))).toBeGreaterThan(LAMBDA_SYNC_REQUEST_MAX_BYTES);
    expect(recordsWithinPayloadLimit([{ data: 'x'.repeat(7 * MiB) }])).toHaveLength(1);
  });
});

describe('API Gateway (REST, Payflow template): payload size and integration timeout, in the API error shape', () => {
  const gateways: LocalApiGateway[] = [];
  const gatewayFor = async (template: CfnTemplate) => {
    const identity = { region: 'us-east-1', accountId: '000000000000' };
    const references = new LocalReferences(template, identity, 'Payflow');
    registerApiGatewayReferences(template, references);
    const echo = runtime.find('echo')!;
    for (const [logicalId] of resourcesOfType(template, 'AWS::Lambda::Function')) references.set(logicalId, echo.functionName, { Arn: echo.arn });
    const gateway = await startApiGateway({
      template,
      resolve: references.resolve,
      invoke: (arn, event) => runtime.invoke(arn, event),
      apiId: String(references.ref(resourcesOfType(template, 'AWS::ApiGateway::RestApi')[0]![0])),
      ...identity,
      malformedRequestBody: PAYFLOW_MALFORMED_REQUEST_BODY,
    });
    gateways.push(gateway);
    return { gateway, key: gateway.apiKeys.find((candidate) => candidate.logicalId.startsWith('ApiMerchantA'))!.value };
  };
  afterAll(() => Promise.all(gateways.map((gateway) => gateway.close())));
  const post = (target: { gateway: LocalApiGateway; key: string }, body: string, headers: Record<string, string> = {}) =>
    fetch(new URL('payments', target.gateway.url), { method: 'POST', body, headers: { 'x-api-key': target.key, 'Content-Type': 'application/json', 'Idempotency-Key': randomUUID(), ...headers } });

  it('a 5 MB body (under the gateway 10 MB, its base64 event over Lambda 6 MB) is 413 request_too_large, not a 5xx; 3 MB reaches the function', async () => {
    const target = await gatewayFor(testTemplate());
    const refused = await post(target, JSON.stringify({ description: 'x'.repeat(5 * MiB) }));
    expect(refused.status).toBe(413);
    expect(await refused.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'request_too_large' } });
    const reached = await post(target, JSON.stringify({ description: 'x'.repeat(3 * MiB) }));
    expect(reached.status).toBe(200);
    expect(((await reached.json()) as { isBase64Encoded: boolean }).isBase64Encoded).toBe(true);
  });

  it('a proxy response over Lambda 6 MB is INTEGRATION_FAILURE (502 bad_gateway)', async () => {
    const target = await gatewayFor(testTemplate());
    const response = await post(target, '{}', { 'x-fixture': 'huge', 'x-bytes': String(LAMBDA_RESPONSE_MAX_BYTES) });
    expect(response.status).toBe(502);
    expect(await response.json()).toMatchObject({ error: { type: 'api_error', code: 'bad_gateway' } });
  });

  it("a function slower than the method's integration timeout is 504 gateway_timeout (TimeoutInMillis; 29 s by default)", async () => {
    const template = testTemplate() as CfnTemplate;
    for (const [, method] of resourcesOfType(template, 'AWS::ApiGateway::Method')) {
      const integration = method.Properties?.Integration as Record<string, unknown> | undefined;
      if (integration?.Type === 'AWS_PROXY') integration.TimeoutInMillis = 300;
    }
    const target = await gatewayFor(template);
    const startedAt = Date.now();
    const response = await post(target, '{}', { 'x-fixture': 'slow' });
    expect(response.status).toBe(504);
    expect(Date.now() - startedAt).toBeLessThan(1_400);
    expect(await response.json()).toMatchObject({ error: { type: 'api_error', code: 'gateway_timeout' } });
  });
});

describe('Step Functions: execution input and task result size', () => {
  const definition = {
    StartAt: 'Task',
    States: {
      Task: {
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: 'arn:aws:lambda:us-east-1:000000000000:function:Fn', 'Payload.$': '$' },
        OutputPath: '$.Payload',
        Catch: [{ ErrorEquals: ['States.ALL'], Next: 'Caught' }],
        End: true,
      },
      Caught: { Type: 'Pass', End: true },
    },
  };
  const template: CfnTemplate = {
    Resources: {
      Fn: { Type: 'AWS::Lambda::Function', Properties: {} },
      Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { DefinitionString: JSON.stringify(definition) } },
    },
  };
  let server: StepFunctionsServer;
  let sfn: SFNClient;
  let machineArn: string;
  beforeAll(async () => {
    const stepFunctions = new LocalStepFunctions(loadStateMachines({ template, invokeLambda: (_id, payload) => runtime.invoke('echo', payload) }));
    server = await startStepFunctionsServer(stepFunctions);
    sfn = new SFNClient({ endpoint: server.endpoint });
    machineArn = stepFunctions.stateMachineByLogicalId('Machine').arn;
  });
  afterAll(async () => {
    sfn.destroy();
    await server.close();
  });
  const run = async (input: unknown) => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: JSON.stringify(input) }));
    await server.stepFunctions.waitForExecution(executionArn!, 10_000);
    return sfn.send(new DescribeExecutionCommand({ executionArn }));
  };

  it('StartExecution with an input over 256 KiB is a ValidationException', async () => {
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: machineArn, input: JSON.stringify({ padding: 'x'.repeat(STATES_PAYLOAD_MAX_BYTES) }) }))).rejects.toMatchObject({
      name: 'ValidationException',
      message: "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding",
      $metadata: { httpStatusCode: 400 },
    });
  });

  it('a task result over 256 KiB fails the execution with States.DataLimitExceeded, which Catch States.ALL does not take', async () => {
    const small = await run({ action: 'large', bytes: 1000 });
    expect(small).toMatchObject({ status: 'SUCCEEDED' });
    const large = await run({ action: 'large', bytes: STATES_PAYLOAD_MAX_BYTES });
    expect(large).toMatchObject({
      status: 'FAILED',
      error: 'States.DataLimitExceeded',
      cause: "The state/task 'arn:aws:states:::lambda:invoke' returned a result with a size exceeding the maximum number of bytes service limit.",
    });
  });
});
