/**
 * fauxqs's long polls on a quiet queue, without its 20 ms timer.
 *
 * Why this exists: while a ReceiveMessage long-polls (the runner's SQS pollers always do, for up to 20 s),
 * fauxqs 1.9.2 runs `setInterval(processTimers, 20)` on the queue, to notice an in-flight message whose
 * visibility timeout ran out or a delayed message that became visible. An idle twin woke 50 times a second
 * per polled queue for nothing.
 *
 * A queue that had traffic (a send, a receive that got messages, a delete, a visibility change) within
 * 10 s keeps fauxqs's own timer, unchanged: a busy flow behaves exactly as with fauxqs alone. (An
 * earlier version waited on deadline timers at all times; under load it slowed the flow and dead-lettered
 * saga starts, for a reason not found.) On a quiet queue the timer fires once, at the queue's next deadline
 * (the earliest visibility deadline of its in-flight messages, the earliest end of a delay); the first
 * traffic puts the queue back on fauxqs's timer. No deadline, no timer.
 * Applied to the loaded fauxqs at startup (never in node_modules); checked against fauxqs 1.9.2's fields.
 */

/** How long after its last traffic a queue counts as quiet (tests shorten it with setQuietAfterMs). */
let quietAfterMs = 10_000;
export const setQuietAfterMs = (ms: number) => {
  quietAfterMs = ms;
};

interface InflightEntry {
  visibilityDeadline: number;
}
interface Delayable {
  delayUntil?: number;
}

/** The fields and methods of fauxqs's SqsQueue this relies on. */
interface FauxqsQueue {
  inflightMessages: Map<string, InflightEntry>;
  delayedMessages: Delayable[];
  fifoDelayed: Map<string, Delayable[]>;
  pollWaiters: unknown[];
  pollTimer?: ReturnType<typeof setTimeout>;
  processTimers(): void;
  startPollTimerIfNeeded(): void;
  stopPollTimerIfEmpty(): void;
  enqueue(...args: unknown[]): unknown;
  dequeue(...args: unknown[]): unknown;
  deleteMessage(...args: unknown[]): unknown;
  changeVisibility(...args: unknown[]): unknown;
}

/** When the armed deadline timer of a quiet queue fires (absent: fauxqs's own timer, or none). */
const armedFor = new WeakMap<FauxqsQueue, number>();
/** When each queue last had traffic (absent: never, so quiet). */
const lastTraffic = new WeakMap<FauxqsQueue, number>();

const isQuiet = (queue: FauxqsQueue, now = Date.now()) => now - (lastTraffic.get(queue) ?? -Infinity) >= quietAfterMs;

/** The earliest moment something of the queue becomes visible by itself; Infinity when nothing will. */
function nextDeadline(queue: FauxqsQueue): number {
  let next = Infinity;
  for (const entry of queue.inflightMessages.values()) next = Math.min(next, entry.visibilityDeadline);
  for (const message of queue.delayedMessages) if (message.delayUntil) next = Math.min(next, message.delayUntil);
  for (const group of queue.fifoDelayed.values()) for (const message of group) if (message.delayUntil) next = Math.min(next, message.delayUntil);
  return next;
}

function disarm(queue: FauxqsQueue): void {
  if (queue.pollTimer) clearTimeout(queue.pollTimer);
  queue.pollTimer = undefined;
  armedFor.delete(queue);
}

/** Arms a quiet queue's timer for its next deadline while a long poll waits (keeps an earlier one armed). */
function armLongPollTimer(queue: FauxqsQueue): void {
  if (queue.pollWaiters.length === 0) return disarm(queue);
  const next = nextDeadline(queue);
  if (next === Infinity) return disarm(queue);
  const armed = armedFor.get(queue);
  if (queue.pollTimer && armed !== undefined && armed <= next) return;
  disarm(queue);
  armedFor.set(queue, next);
  // At least 1 ms: processTimers compares with Date.now(), which a timer may reach a millisecond late.
  queue.pollTimer = setTimeout(() => {
    queue.pollTimer = undefined;
    armedFor.delete(queue);
    // Moves what is due back to visible and wakes the waiting receives (fauxqs's own code), then the next deadline.
    queue.processTimers();
    armLongPollTimer(queue);
  }, Math.max(1, next - Date.now()));
}

/** Gives every fauxqs queue (the class's prototype) the quiet-queue timer above. */
export function useQuietQueueTimers(SqsQueue: { prototype: FauxqsQueue }): void {
  const prototype = SqsQueue.prototype;
  for (const method of ['processTimers', 'startPollTimerIfNeeded', 'stopPollTimerIfEmpty', 'enqueue', 'dequeue', 'deleteMessage', 'changeVisibility'] as const) {
    if (typeof prototype[method] !== 'function') throw new Error(`fauxqs internals changed (expected those of 1.9.2): SqsQueue.${method} is missing`);
  }
  const { startPollTimerIfNeeded: fauxqsTimer, stopPollTimerIfEmpty: fauxqsStop } = prototype;
  prototype.startPollTimerIfNeeded = function (this: FauxqsQueue) {
    if (isQuiet(this)) armLongPollTimer(this);
    else if (!armedFor.has(this)) fauxqsTimer.call(this);
  };
  prototype.stopPollTimerIfEmpty = function (this: FauxqsQueue) {
    if (this.pollWaiters.length > 0) return;
    if (armedFor.has(this)) disarm(this);
    else fauxqsStop.call(this);
  };
  /** Traffic: the waiting receives go back on fauxqs's timer (or, with traffic counted quiet at once, a new deadline). */
  const traffic = (queue: FauxqsQueue) => {
    lastTraffic.set(queue, Date.now());
    if (armedFor.has(queue)) disarm(queue);
    if (queue.pollWaiters.length > 0) queue.startPollTimerIfNeeded();
  };
  for (const method of ['enqueue', 'deleteMessage', 'changeVisibility'] as const) {
    const original = prototype[method];
    prototype[method] = function (this: FauxqsQueue, ...args: unknown[]) {
      const result = original.apply(this, args);
      traffic(this);
      return result;
    };
  }
  const dequeue = prototype.dequeue;
  prototype.dequeue = function (this: FauxqsQueue, ...args: unknown[]) {
    const received = dequeue.apply(this, args);
    // An empty receive is the pollers' own waiting, not traffic; one that took messages moved deadlines.
    if (Array.isArray(received) && received.length > 0) traffic(this);
    else if (armedFor.has(this)) armLongPollTimer(this);
    return received;
  };
}
