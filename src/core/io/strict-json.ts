/**
 * JSON for file headers, parsed as strictly as the reference safetensors parser (serde_json):
 * a duplicate key in any object is refused (JSON.parse keeps the last one silently, so a file
 * could show one `__metadata__` to one reader and another to us), a byte order mark is refused,
 * and a number written as a float (`1.0`, `1e3`) or beyond 2^53 keeps its source text, so a
 * field that needs an integer can refuse it and quote it exactly.
 *
 * Memory is proportional to the text: nothing is allocated from a value read.
 */

/** A number whose literal is not a plain safe integer although its value may look like one. */
export class JsonNumberLiteral {
  constructor(
    readonly value: number,
    readonly source: string,
  ) {}
  toJSON(): number {
    return this.value;
  }
}

/** A value as its file wrote it, for messages: numbers keep their literal (1.0, 9007199254740993). */
export function describeJson(v: unknown): string {
  if (v === undefined) return 'missing';
  if (v instanceof JsonNumberLiteral) return v.source;
  if (Array.isArray(v)) return `[${v.map(describeJson).join(',')}]`;
  return JSON.stringify(v) ?? typeof v;
}

export class JsonSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

const INTEGER = /^-?(0|[1-9][0-9]*)$/;
const NUMBER = /-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
const ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

/**
 * Parses `text` as one JSON value. Numbers that are plain integer literals within the safe range
 * become numbers; every other number becomes a number too unless its value is integral or its
 * magnitude exceeds 2^53, in which case it becomes a JsonNumberLiteral (value and source text).
 */
export function parseStrictJson(text: string): unknown {
  if (text.charCodeAt(0) === 0xfeff) throw new JsonSyntaxError('starts with a byte order mark (U+FEFF)');
  let i = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(`${what} at character ${i}`);
  };
  const space = () => {
    while (i < text.length) {
      const c = text.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
  };
  const string = (): string => {
    i++; // opening quote
    let out = '';
    let start = i;
    for (;;) {
      if (i >= text.length) fail('unterminated string');
      const c = text.charCodeAt(i);
      if (c === 0x22) break;
      if (c < 0x20) fail('control character in a string');
      if (c !== 0x5c) {
        i++;
        continue;
      }
      out += text.slice(start, i);
      const e = text[i + 1];
      if (e === 'u') {
        const hex = text.slice(i + 2, i + 6);
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) fail('bad \\u escape');
        out += String.fromCharCode(parseInt(hex, 16));
        i += 6;
      } else if (e !== undefined && e in ESCAPES) {
        out += ESCAPES[e];
        i += 2;
      } else fail('bad escape');
      start = i;
    }
    out += text.slice(start, i);
    i++; // closing quote
    return out;
  };
  const number = (): number | JsonNumberLiteral => {
    NUMBER.lastIndex = i;
    const m = NUMBER.exec(text);
    if (!m) return fail('unexpected character');
    const source = m[0];
    i += source.length;
    const value = Number(source);
    if (INTEGER.test(source) && Number.isSafeInteger(value)) return value;
    return Number.isInteger(value) || Math.abs(value) > Number.MAX_SAFE_INTEGER
      ? new JsonNumberLiteral(value, source)
      : value;
  };
  const literal = (word: string, v: unknown) => {
    if (!text.startsWith(word, i)) fail('unexpected character');
    i += word.length;
    return v;
  };
  // An explicit stack, not recursion: a header of a million '[' must not overflow the call stack.
  type Frame = { kind: 'array'; value: unknown[] } | { kind: 'object'; value: Record<string, unknown>; key: string };
  const stack: Frame[] = [];
  let result: unknown;
  let done = false;
  const scalarOrOpen = (): { open: Frame } | { value: unknown } => {
    space();
    const c = text[i];
    if (c === '{') {
      i++;
      return { open: { kind: 'object', value: Object.create(null) as Record<string, unknown>, key: '' } };
    }
    if (c === '[') {
      i++;
      return { open: { kind: 'array', value: [] } };
    }
    if (c === '"') return { value: string() };
    if (c === 't') return { value: literal('true', true) };
    if (c === 'f') return { value: literal('false', false) };
    if (c === 'n') return { value: literal('null', null) };
    if (c === undefined) return fail('unexpected end');
    return { value: number() };
  };
  const objectKey = (frame: Extract<Frame, { kind: 'object' }>) => {
    space();
    if (text[i] !== '"') fail('expected a string key');
    const key = string();
    if (Object.prototype.hasOwnProperty.call(frame.value, key)) fail(`duplicate key ${JSON.stringify(key)}`);
    space();
    if (text[i] !== ':') fail("expected ':'");
    i++;
    frame.key = key;
  };
  // Places a finished value in its parent, then closes every container that ends right after it.
  const place = (v: unknown) => {
    for (;;) {
      const top = stack[stack.length - 1];
      if (!top) {
        result = v;
        done = true;
        return;
      }
      if (top.kind === 'array') top.value.push(v);
      else top.value[top.key] = v;
      space();
      const c = text[i];
      if (c === ',') {
        i++;
        if (top.kind === 'object') objectKey(top);
        return;
      }
      if ((top.kind === 'array' && c === ']') || (top.kind === 'object' && c === '}')) {
        i++;
        stack.pop();
        v = top.value;
        continue;
      }
      fail(top.kind === 'array' ? "expected ',' or ']'" : "expected ',' or '}'");
    }
  };
  while (!done) {
    const next = scalarOrOpen();
    if ('value' in next) {
      place(next.value);
      continue;
    }
    const frame = next.open;
    space();
    if ((frame.kind === 'array' && text[i] === ']') || (frame.kind === 'object' && text[i] === '}')) {
      i++;
      place(frame.value);
      continue;
    }
    stack.push(frame);
    if (frame.kind === 'object') objectKey(frame);
  }
  space();
  if (i !== text.length) fail('unexpected text after the value');
  return result;
}
