/**
 * JSON.parse keeps the last of two equal keys (`{"amount":1,"amount":1000}` is `{amount: 1000}`), so a
 * body can say two things at once and a validator sees only one of them. RFC 8259 §4 leaves such
 * objects' meaning to the implementation; this API refuses them.
 */

/**
 * The path of the first key that appears twice in one object of `text` (e.g. `['metadata', 'a']`),
 * or `undefined` when every object's keys are distinct. Keys compare by their decoded value, so
 * `"a"` and `"\u0061"` are the same key. `text` must be valid JSON (call it after JSON.parse succeeded):
 * this only walks the tokens and does not check the grammar.
 */
export function firstDuplicateKey(text: string): string[] | undefined {
  // One frame per open container: an object's keys so far, or null for an array.
  const frames: Array<{ keys: Set<string>; key?: string } | null> = [];
  let expectingKey = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (char === QUOTE) {
      const end = stringEnd(text, i);
      const frame = frames.at(-1);
      if (expectingKey && frame) {
        const key = JSON.parse(text.slice(i, end + 1)) as string;
        if (frame.keys.has(key)) return [...pathOf(frames.slice(0, -1)), key];
        frame.keys.add(key);
        frame.key = key;
        expectingKey = false;
      }
      i = end;
    } else if (char === OPEN_BRACE) {
      frames.push({ keys: new Set() });
      expectingKey = true;
    } else if (char === OPEN_BRACKET) {
      frames.push(null);
      expectingKey = false;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) {
      frames.pop();
      expectingKey = false;
    } else if (char === COMMA) {
      expectingKey = frames.at(-1) !== null && frames.length > 0;
    }
  }
  return undefined;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const char = text.charCodeAt(i);
    if (char === BACKSLASH) i += 2;
    else if (char === QUOTE) return i;
    else i += 1;
  }
  return text.length;
}

/** The keys leading to the innermost open object (array positions are left out: bodies name fields, not indexes). */
function pathOf(frames: ReadonlyArray<{ key?: string } | null>): string[] {
  return frames.flatMap((frame) => (frame?.key === undefined ? [] : [frame.key]));
}
