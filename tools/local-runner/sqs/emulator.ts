/**
 * The runner's SQS: fauxqs, with the characters real SQS accepts.
 *
 * Why this exists: fauxqs 1.9.2 checks a message body with `/[^\x09\x0A\x0D\x20-\uD7FF\uE000-\uFFFD]/`,
 * a pattern without the `u` flag, so it looks at UTF-16 code units: every character outside the Basic
 * Multilingual Plane (an emoji is two surrogate code units) is refused with InvalidMessageContents, which
 * real SQS accepts (#x10000–#x10FFFF). And it does not check string message attribute values at all,
 * which SQS holds to the same rules as the body. Both are fixed here, at startup, in the loaded fauxqs
 * (never in node_modules, which `npm ci` restores): its pattern tests code points, and SendMessage /
 * SendMessageBatch refuse a string attribute value as SQS does. Checked against fauxqs 1.9.2 only:
 * if its internals move, startup fails here instead of the twin silently differing from SQS.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startFauxqs } from 'fauxqs';
import { withSqsLimitMessages } from '../limits/sqs.ts';
import { useQuietQueueTimers } from './long-poll-timer.ts';

/** Any character SQS refuses: not #x9 | #xA | #xD | #x20–#xD7FF | #xE000–#xFFFD | #x10000–#x10FFFF (by code point; a lone surrogate is refused). */
export const SQS_REFUSED_CHARACTER = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/u;
const INVALID_CHARACTERS =
  'Invalid characters found. Valid unicode characters are #x9 | #xA | #xD | #x20 to #xD7FF | #xE000 to #xFFFD | #x10000 to #x10FFFF';

type Attributes = Record<string, { DataType?: string; StringValue?: string }> | undefined;
interface BatchResult {
  Failed: Array<{ Id: string; Code: string; Message: string }>;
}
type Handler = (body: Record<string, any>, store: unknown, request: unknown) => any;
interface FauxqsInternals {
  INVALID_MESSAGE_BODY_CHAR: RegExp;
  SqsRouter: { prototype: { register(action: string, handler: Handler): void } };
  SqsError: new (code: string, message: string) => Error & { code: string };
}

const hasRefusedAttribute = (attributes: Attributes) =>
  Object.values(attributes ?? {}).some((attribute) => attribute.DataType?.startsWith('String') && SQS_REFUSED_CHARACTER.test(attribute.StringValue ?? ''));

function withSqsCharacters({ SqsError }: FauxqsInternals, action: string, handler: Handler): Handler {
  // fauxqs prefixes every x-amzn-query-error code with AWS.SimpleQueueService., which SQS does only for the
  // codes its model names so: for these two the SDK would throw a bare SQSServiceException, not InvalidMessageContents.
  const refusal = (code: 'InvalidMessageContents' | 'InvalidParameterValue') =>
    Object.defineProperty(new SqsError(code, INVALID_CHARACTERS), 'queryErrorHeader', { value: `${code};Sender` });
  if (action === 'SendMessage') {
    return (body, store, request) => {
      // For a string attribute value SQS answers InvalidParameterValue, not InvalidMessageContents (as LocalStack
      // records it from AWS; the API reference only says the value has the body's restrictions).
      if (hasRefusedAttribute(body.MessageAttributes)) throw refusal('InvalidParameterValue');
      try {
        return handler(body, store, request);
      } catch (error) {
        // fauxqs's message also leaves out #x10000–#x10FFFF.
        if ((error as { code?: string }).code === 'InvalidMessageContents') throw refusal('InvalidMessageContents');
        throw error;
      }
    };
  }
  if (action === 'SendMessageBatch') {
    return (body, store, request) => {
      // An entry with a refused attribute value gets a body fauxqs's own check refuses, of the same byte
      // size: fauxqs then fails that entry alone (the batch-level checks see the same batch) and we name the cause.
      const byAttribute = new Set<string>();
      const entries = (body.Entries ?? []).map((entry: { Id: string; MessageBody?: string; MessageAttributes?: Attributes }) => {
        if (!hasRefusedAttribute(entry.MessageAttributes)) return entry;
        byAttribute.add(entry.Id);
        return { ...entry, MessageBody: '\u0000'.repeat(Math.max(1, Buffer.byteLength(entry.MessageBody ?? ''))) };
      });
      const result = handler(byAttribute.size > 0 ? { ...body, Entries: entries } : body, store, request) as BatchResult;
      for (const failed of result.Failed) {
        if (byAttribute.has(failed.Id)) Object.assign(failed, { Code: 'InvalidParameterValue', Message: INVALID_CHARACTERS });
        else if (failed.Code === 'InvalidMessageContents') failed.Message = INVALID_CHARACTERS;
      }
      return result;
    };
  }
  return handler;
}

let patched: Promise<void> | undefined;

/** fauxqs's entry module, found as Node would (it exports only an `import` condition, and vitest's module runner has no import.meta.resolve). */
function fauxqsEntryUrl(): string {
  const packageDir = (createRequire(import.meta.url).resolve.paths('fauxqs') ?? [])
    .map((nodeModules) => join(nodeModules, 'fauxqs'))
    .find((dir) => existsSync(join(dir, 'package.json')));
  if (!packageDir) throw new Error('fauxqs is not installed');
  return pathToFileURL(join(packageDir, 'dist', 'app.js')).href;
}

/** Loads fauxqs's own modules (the instances its server uses) and applies SQS's character rules to them, once per process. */
function patchFauxqs(): Promise<void> {
  patched ??= (async () => {
    const dist = fauxqsEntryUrl(); // .../fauxqs/dist/app.js
    const load = (path: string) => import(new URL(path, dist).href);
    const [types, router, errors, store] = await Promise.all([load('./sqs/sqsTypes.js'), load('./sqs/sqsRouter.js'), load('./common/errors.js'), load('./sqs/sqsStore.js')]);
    const internals: FauxqsInternals = { INVALID_MESSAGE_BODY_CHAR: types.INVALID_MESSAGE_BODY_CHAR, SqsRouter: router.SqsRouter, SqsError: errors.SqsError };
    if (!(internals.INVALID_MESSAGE_BODY_CHAR instanceof RegExp) || typeof internals.SqsRouter?.prototype?.register !== 'function' || typeof internals.SqsError !== 'function') {
      throw new Error('fauxqs internals changed (expected those of 1.9.2): tools/local-runner/sqs/emulator.ts cannot apply the SQS character rules');
    }
    // Once per loaded fauxqs, however many copies of this module load (vitest loads one per project).
    if (Object.hasOwn(internals.INVALID_MESSAGE_BODY_CHAR, 'test')) return;
    // fauxqs calls `INVALID_MESSAGE_BODY_CHAR.test(body)`: the export is read-only, the RegExp object is not.
    Object.defineProperty(internals.INVALID_MESSAGE_BODY_CHAR, 'test', { value: (text: string) => SQS_REFUSED_CHARACTER.test(text) });
    // A long poll on a quiet queue waits on a timer at the queue's next deadline, not on a 20 ms interval (long-poll-timer.ts).
    useQuietQueueTimers(store.SqsQueue);
    // Every SqsRouter built from now on (one per fauxqs server) gets the wrapped SendMessage/SendMessageBatch,
    // with AWS's wording of the size and batch limits fauxqs enforces (limits/sqs.ts).
    const register = internals.SqsRouter.prototype.register;
    internals.SqsRouter.prototype.register = function (action, handler) {
      register.call(this, action, withSqsLimitMessages(action, withSqsCharacters(internals, action, handler)));
    };
  })();
  return patched;
}

/** `startFauxqs`, with the characters SQS accepts and refuses (see above), and long polls on a quiet queue without a 20 ms timer. */
export async function startSqsEmulator(options: Parameters<typeof startFauxqs>[0]): ReturnType<typeof startFauxqs> {
  await patchFauxqs();
  return startFauxqs(options);
}
