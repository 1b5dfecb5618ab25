/**
 * A tiny Step Functions API (AWS JSON 1.0, `X-Amz-Target: AWSStepFunctions.<Operation>`: StartExecution,
 * DescribeExecution, GetExecutionHistory, ListExecutions, StopExecution, DescribeStateMachine) in front of the local executions, so that Lambda code
 * using @aws-sdk/client-sfn with AWS_ENDPOINT_URL_SFN works locally.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { StepFunctionsApiError, type ExecutionRecord, type ExecutionStatus, type LocalStepFunctions } from './executions.ts';
import { describeStateMachineBody, executionHistory } from './history.ts';

export interface StepFunctionsServer {
  /** Base URL for AWS_ENDPOINT_URL_SFN / `new SFNClient({endpoint})`. */
  readonly endpoint: string;
  readonly stepFunctions: LocalStepFunctions;
  /** Stops listening and aborts running executions. */
  close(): Promise<void>;
}

const epochSeconds = (date: Date | undefined) => (date ? date.getTime() / 1000 : undefined);

/** The fields ListExecutions gives per execution; DescribeExecution starts with the same. */
function executionSummary(record: ExecutionRecord) {
  return {
    executionArn: record.executionArn,
    stateMachineArn: record.stateMachineArn,
    name: record.name,
    status: record.status,
    startDate: epochSeconds(record.startDate),
    stopDate: epochSeconds(record.stopDate),
  };
}

function describeBody(record: ExecutionRecord) {
  return {
    ...executionSummary(record),
    input: record.input,
    inputDetails: { included: true },
    output: record.output,
    ...(record.output !== undefined ? { outputDetails: { included: true } } : {}),
    error: record.error,
    cause: record.cause,
  };
}

type Operation = (stepFunctions: LocalStepFunctions, request: Record<string, unknown>) => unknown;

const OPERATIONS: Record<string, Operation> = {
  StartExecution: (sfn, request) => {
    const { executionArn, startDate } = sfn.startExecution({
      stateMachineArn: String(request.stateMachineArn ?? ''),
      name: request.name === undefined ? undefined : String(request.name),
      input: request.input === undefined ? undefined : String(request.input),
    });
    return { executionArn, startDate: epochSeconds(startDate) };
  },
  DescribeExecution: (sfn, request) => describeBody(sfn.describeExecution(String(request.executionArn ?? ''))),
  GetExecutionHistory: (sfn, request) => {
    const record = sfn.describeExecution(String(request.executionArn ?? ''));
    const machine = sfn.stateMachines().find((candidate) => candidate.arn === record.stateMachineArn);
    const all = executionHistory(record, machine, request.reverseOrder === true);
    const offset = request.nextToken ? Number(request.nextToken) : 0;
    const limit = typeof request.maxResults === 'number' && request.maxResults > 0 ? request.maxResults : 1000;
    return { events: all.slice(offset, offset + limit), ...(offset + limit < all.length ? { nextToken: String(offset + limit) } : {}) };
  },
  DescribeStateMachine: (sfn, request) => {
    const machine = sfn.stateMachines().find((candidate) => candidate.arn === String(request.stateMachineArn ?? ''));
    if (!machine) throw new StepFunctionsApiError('StateMachineDoesNotExist', `State Machine Does Not Exist: '${String(request.stateMachineArn)}'`);
    return describeStateMachineBody(machine);
  },
  ListExecutions: (sfn, request) => {
    const all = sfn.listExecutions({
      stateMachineArn: request.stateMachineArn === undefined ? undefined : String(request.stateMachineArn),
      statusFilter: request.statusFilter as ExecutionStatus | undefined,
    });
    const offset = request.nextToken ? Number(request.nextToken) : 0;
    const limit = typeof request.maxResults === 'number' && request.maxResults > 0 ? request.maxResults : 100;
    const page = all.slice(offset, offset + limit);
    return {
      executions: page.map(executionSummary),
      ...(offset + limit < all.length ? { nextToken: String(offset + limit) } : {}),
    };
  },
  StopExecution: (sfn, request) => {
    const { stopDate } = sfn.stopExecution(String(request.executionArn ?? ''), {
      error: request.error === undefined ? undefined : String(request.error),
      cause: request.cause === undefined ? undefined : String(request.cause),
    });
    return { stopDate: epochSeconds(stopDate) };
  },
};

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(response: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}) {
  const text = JSON.stringify(body);
  response.writeHead(status, {
    'Content-Type': 'application/x-amz-json-1.0',
    'Content-Length': Buffer.byteLength(text),
    'x-amzn-RequestId': randomUUID(),
    ...extraHeaders,
  });
  response.end(text);
}

/**
 * Serves `stepFunctions` over HTTP on 127.0.0.1 (port 0 = a free port). Point clients at
 * `endpoint` (AWS_ENDPOINT_URL_SFN). Credentials and signatures are not checked.
 */
export async function startStepFunctionsServer(stepFunctions: LocalStepFunctions, options: { port?: number; host?: string } = {}): Promise<StepFunctionsServer> {
  const host = options.host ?? '127.0.0.1';
  const server = createServer((request, response) => {
    void (async () => {
      try {
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = OPERATIONS[target.replace(/^AWSStepFunctions\./, '')];
        if (request.method !== 'POST' || !operation) {
          throw new StepFunctionsApiError('UnknownOperationException', `Operation ${target || '(none)'} is not supported locally`);
        }
        const text = await readBody(request);
        const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
        send(response, 200, operation(stepFunctions, body));
      } catch (error) {
        if (error instanceof StepFunctionsApiError) {
          send(response, 400, { __type: `com.amazonaws.sfn#${error.type}`, message: error.message }, { 'x-amzn-ErrorType': error.type });
        } else if (error instanceof SyntaxError) {
          send(response, 400, { __type: 'com.amazonaws.sfn#SerializationException', message: error.message }, { 'x-amzn-ErrorType': 'SerializationException' });
        } else {
          send(response, 500, { __type: 'InternalFailure', message: error instanceof Error ? error.message : String(error) });
        }
      }
    })();
  });
  await new Promise<void>((resolveListen, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolveListen());
  });
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    stepFunctions,
    async close() {
      stepFunctions.abortAll();
      server.closeAllConnections();
      await new Promise<void>((done) => server.close(() => done()));
    },
  };
}
