/**
 * Serves one call the FaultInjector picked, in place of the proxy's plain forward:
 * - throttle / server-error: AWS's error answer, nothing forwarded;
 * - latency: forwarded after the delay, answered normally;
 * - timeout: held for the delay (the caller's SDK times out first when it has a request timeout, else the
 *   function's own timeout ends it), then applied upstream with its answer dropped, as a frozen server does;
 * - response-lost: applied upstream, then the connection is destroyed instead of answering;
 * - kill-before: the calling execution environment is killed, nothing forwarded;
 * - kill-after: applied upstream, then the environment is killed before it reads the answer.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonService } from '../iam/requests.ts';
import type { FaultDecision, FaultInjector } from './plan.ts';
import { serverError, throttled, type ErrorAnswer } from './responses.ts';

export interface FaultedCall {
  service: JsonService;
  response: ServerResponse;
  /** Sends the request upstream; `answered` takes the upstream answer instead of the caller. */
  forward(answered?: (answer: IncomingMessage) => void): void;
  /** The calling execution environment, when a function's made the call. */
  environment?: string;
  faults: FaultInjector;
}

const sleep = (ms: number) => new Promise((wake) => setTimeout(wake, ms));

function reply(response: ServerResponse, { status, headers, body }: ErrorAnswer): void {
  response.writeHead(status, { ...headers, 'Content-Length': Buffer.byteLength(body) });
  response.end(body);
}

/** The upstream answer is read to its end (the work is done), then the caller's connection is dropped. */
const dropAnswer = (call: FaultedCall, then?: () => void) => (answer: IncomingMessage) => {
  answer.resume();
  answer.on('end', () => {
    then?.();
    call.response.socket?.destroy();
  });
};

export function serveWithFault(decision: FaultDecision, call: FaultedCall): void {
  const kill = () => call.environment && call.faults.killEnvironment(call.environment);
  switch (decision.kind) {
    case 'throttle':
      return reply(call.response, throttled(call.service));
    case 'server-error':
      return reply(call.response, serverError(call.service));
    case 'latency':
      void sleep(decision.delayMs).then(() => call.forward());
      return;
    case 'timeout':
      void sleep(decision.delayMs).then(() => call.forward(dropAnswer(call)));
      return;
    case 'response-lost':
      return call.forward(dropAnswer(call));
    case 'kill-before':
      kill();
      call.response.socket?.destroy();
      return;
    case 'kill-after':
      return call.forward(dropAnswer(call, kill));
  }
}
