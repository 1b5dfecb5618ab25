/**
 * fauxqs's long polls, without its 20 ms timer.
 *
 * Why this exists: while a ReceiveMessage long-polls (the runner's SQS pollers always do, for up to 20 s),
 * fauxqs 1.9.2 runs `setInterval(processTimers, 20)` on the queue, to notice an in-flight message whose
 * visibility timeout ran out or a delayed message that became visible. A message sent meanwhile needs no
 * timer: SendMessage wakes the waiting receives itself. So an idle twin woke 50 times a second per polled
 * queue for nothing. Here the timer fires once, at the queue's next deadline (the earliest visibility
 * deadline of its in-flight messages, the earliest end of a delay), and is re-armed whenever a receive,
 * a send or a visibility change moves a deadline while a long poll waits. No deadline, no timer.
 * Applied to the loaded fauxqs at startup (never in node_modules); checked against fauxqs 1.9.2's fields.
 */

interface InflightEntry {
  visibilityDeadline: number;
}
interface Delayable {
  delayUntil?: number;
}

/** The fields and methods of fauxqs's SqsQueue this relies on. */
export interface FauxqsQueue {
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
  changeVisibility(...args: unknown[]): unknown;
}

/** When the armed timer of a queue fires (absent: none armed). */
const armedFor = new WeakMap<FauxqsQueue, number>();

/** The earliest moment something of the queue becomes visible by itself; Infinity when nothing will. */
export function nextDeadline(queue: FauxqsQueue): number {
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

/** Arms the queue's timer for its next deadline while a long poll waits (keeps an earlier one armed). */
export function armLongPollTimer(queue: FauxqsQueue): void {
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

/** Replaces the 20 ms timer of every fauxqs queue (the class's prototype) by the deadline timer above. */
export function useDeadlineTimers(SqsQueue: { prototype: FauxqsQueue }): void {
  const prototype = SqsQueue.prototype;
  for (const method of ['processTimers', 'startPollTimerIfNeeded', 'stopPollTimerIfEmpty', 'enqueue', 'dequeue', 'changeVisibility'] as const) {
    if (typeof prototype[method] !== 'function') throw new Error(`fauxqs internals changed (expected those of 1.9.2): SqsQueue.${method} is missing`);
  }
  prototype.startPollTimerIfNeeded = function (this: FauxqsQueue) {
    armLongPollTimer(this);
  };
  prototype.stopPollTimerIfEmpty = function (this: FauxqsQueue) {
    if (this.pollWaiters.length === 0) disarm(this);
  };
  // What can move a deadline while a receive waits: a delayed send, another receive (a message goes in flight),
  // a visibility change. Each re-arms after fauxqs's own code ran.
  for (const method of ['enqueue', 'dequeue', 'changeVisibility'] as const) {
    const original = prototype[method];
    prototype[method] = function (this: FauxqsQueue, ...args: unknown[]) {
      const result = original.apply(this, args);
      if (this.pollWaiters.length > 0) armLongPollTimer(this);
      return result;
    };
  }
}
