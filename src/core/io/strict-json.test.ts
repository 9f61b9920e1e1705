import { describe, expect, it } from 'vitest';
import { JsonNumberLiteral, JsonSyntaxError, parseStrictJson } from './strict-json';

/** Plain values, without the literals the strict parser keeps (those compare by value). */
const plain = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown;

describe('strict JSON', () => {
  it('reads what JSON.parse reads, escapes and unicode included', () => {
    const texts = [
      '{}',
      '[]',
      ' {"a" : [1, -2, 3.5, -0.25e-3, true, false, null, "x"] } ',
      '"\\u00e9\\n\\t\\"\\\\\\/\\b\\f\\r"',
      '{"nested":{"deeper":[[],[{}],{"k":"v"}]},"é":"ü"}',
      '{"__proto__":{"x":1}}',
      '-0',
      '12345678901234',
    ];
    for (const t of texts) expect(plain(parseStrictJson(t)), t).toEqual(plain(JSON.parse(t)));
    const proto = parseStrictJson('{"__proto__":{"x":1}}') as Record<string, unknown>;
    expect(Object.keys(proto)).toEqual(['__proto__']);
  });

  it('refuses what JSON.parse refuses, and more', () => {
    const bad = [
      '',
      '{',
      '[1,]',
      '{"a":1,}',
      '01',
      '1.',
      '.5',
      '+1',
      "'x'",
      '{"a" 1}',
      '[1 2]',
      'nul',
      '"\u0001"',
      '1 2',
    ];
    for (const t of bad) {
      expect(() => JSON.parse(t), t).toThrow();
      expect(() => parseStrictJson(t), t).toThrow(JsonSyntaxError);
    }
    expect(() => parseStrictJson('{"a":1,"a":1}')).toThrow('duplicate key "a"');
    expect(() => parseStrictJson('\uFEFF{}')).toThrow('byte order mark');
  });

  it('keeps the literal of integral floats and of integers beyond 2^53', () => {
    const [a, b, c, d] = parseStrictJson('[2.0, 1e3, 9007199254740993, 0.5]') as unknown[];
    expect(a).toEqual(new JsonNumberLiteral(2, '2.0'));
    expect(b).toEqual(new JsonNumberLiteral(1000, '1e3'));
    expect(c).toBeInstanceOf(JsonNumberLiteral);
    expect((c as JsonNumberLiteral).source).toBe('9007199254740993');
    expect(d).toBe(0.5);
  });

  it('parses deep nesting without exhausting the call stack', () => {
    const depth = 50_000;
    const text = '['.repeat(depth) + ']'.repeat(depth);
    let v = parseStrictJson(text);
    let n = 0;
    while (Array.isArray(v) && v.length === 1) {
      v = v[0];
      n++;
    }
    expect(n).toBe(depth - 1);
  });
});
