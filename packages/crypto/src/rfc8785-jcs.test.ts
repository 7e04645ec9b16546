// RFC 8785 (JCS) against the reference test data of the RFC's author (vectors/jcs), plus the strict
// parser used for anything that will be signed or hashed.
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { vectorPath } from '../../../test/support/vectors.js';
import { fromHex } from './encoding.js';
import { JsonInputError, canonicalBytes, canonicalize, parseStrictJson } from './jcs.js';

const inputs = readdirSync(vectorPath('jcs/input')).filter((name) => name.endsWith('.json'));

describe('RFC 8785 reference vectors (cyberphone/json-canonicalization testdata)', () => {
  it('has the six published cases', () => {
    expect(inputs.sort()).toEqual(['arrays.json', 'french.json', 'structures.json', 'unicode.json', 'values.json', 'weird.json']);
  });

  for (const name of inputs) {
    const input = readFileSync(vectorPath(`jcs/input/${name}`), 'utf8');
    const expected = new Uint8Array(readFileSync(vectorPath(`jcs/output/${name}`)));
    const expectedHex = readFileSync(vectorPath(`jcs/outhex/${name.replace('.json', '.txt')}`), 'utf8').replace(/\s+/g, '');

    it(`${name}: output/ byte for byte (parsed with parseStrictJson)`, () => {
      expect(canonicalBytes(parseStrictJson(input))).toEqual(expected);
    });

    it(`${name}: outhex/ byte for byte (parsed with JSON.parse)`, () => {
      expect(canonicalBytes(JSON.parse(input))).toEqual(fromHex(expectedHex));
    });
  }

  const samples = readFileSync(vectorPath('jcs/es6_number_samples.csv'), 'utf8').trim().split('\n');
  it.each(samples.map((line) => line.split(',') as [string, string]))('ES6 number serialisation %s -> %s', (ieeeHex, text) => {
    const view = new DataView(new ArrayBuffer(8));
    view.setBigUint64(0, BigInt(`0x${ieeeHex}`));
    expect(canonicalize(view.getFloat64(0))).toBe(text);
  });
});

describe('canonicalize', () => {
  it('sorts keys by UTF-16 code units, recursively, and drops insignificant whitespace', () => {
    // U+10000 (surrogates D800 DC00) sorts before U+FB33 in UTF-16 order, after it in code-point order.
    expect(canonicalize({ b: [3, { z: 1, a: 2 }], a: 'x', '\ufb33': 1, '\u{10000}': 2 })).toBe(
      '{"a":"x","b":[3,{"a":2,"z":1}],"\u{10000}":2,"\ufb33":1}',
    );
  });

  it('serialises numbers the ES6 way and -0 as 0', () => {
    expect(canonicalize([1e21, 1e-7, -0, 0.1, 100, 5e-324])).toBe('[1e+21,1e-7,0,0.1,100,5e-324]');
  });

  it('escapes strings as JCS prescribes', () => {
    expect(canonicalize('\u0000\b\t\n\f\r"\\/\u007f\u2028')).toBe('"\\u0000\\b\\t\\n\\f\\r\\"\\\\/\u007f\u2028"');
  });

  it('accepts null-prototype objects and shared (non-cyclic) references', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: null });
    const shared = { x: true };
    expect(canonicalize({ bare, p: shared, q: shared })).toBe('{"bare":{"a":null,"b":1},"p":{"x":true},"q":{"x":true}}');
  });

  it.each([
    ['NaN', NaN, /number at \$ is NaN/],
    ['Infinity', { a: [Infinity] }, /number at \$\.a\[0\] is Infinity/],
    ['-Infinity', -Infinity, /-Infinity/],
    ['undefined', undefined, /undefined/],
    ['undefined member', { a: undefined }, /value at \$\.a is a undefined/],
    ['function', { f: () => 1 }, /function/],
    ['symbol', Symbol('s'), /symbol/],
    ['bigint', 1n, /bigint/],
    ['Date', new Date(0), /Date, not a plain object/],
    ['Map', new Map(), /Map, not a plain object/],
    ['class instance', new (class Point {})(), /Point, not a plain object/],
    ['Uint8Array', new Uint8Array(1), /Uint8Array/],
    ['sparse array', [1, , 3], /hole at index 1/],
    ['lone high surrogate', 'a\ud800', /lone surrogate/],
    ['lone low surrogate', '\udc00', /lone surrogate/],
    ['lone surrogate in a key', { '\ud83d': 1 }, /key .* lone surrogate/],
    ['symbol key', { [Symbol('k')]: 1 }, /symbol keys/],
  ])('rejects %s with a TypeError', (_label, value, message) => {
    expect(() => canonicalize(value)).toThrow(TypeError);
    expect(() => canonicalize(value)).toThrow(message);
  });

  it('rejects cyclic structures', () => {
    const a: Record<string, unknown> = { n: 1 };
    a.self = { back: a };
    expect(() => canonicalize(a)).toThrow(new TypeError('canonicalize: cyclic structure at $.self.back'));
    const list: unknown[] = [];
    list.push(list);
    expect(() => canonicalize(list)).toThrow(/cyclic/);
  });

  it('canonicalBytes is the UTF-8 of canonicalize', () => {
    expect(canonicalBytes({ é: '€' })).toEqual(new Uint8Array([0x7b, 0x22, 0xc3, 0xa9, 0x22, 0x3a, 0x22, 0xe2, 0x82, 0xac, 0x22, 0x7d]));
  });
});

describe('parseStrictJson', () => {
  const invalid = (text: string, options?: { maxDepth?: number }) => {
    let error: unknown;
    try {
      parseStrictJson(text, options);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(JsonInputError);
    expect((error as JsonInputError).code).toBe('invalid_json');
    return (error as JsonInputError).message;
  };

  it('parses what JSON.parse parses, for well-formed I-JSON', () => {
    const text = ' {"a":[1,-2.5e3,0,-0,true,false,null,"x\\u00e9\\ud83d\\ude02\\n"],"b":{},"c":[]} ';
    expect(parseStrictJson(text)).toEqual(JSON.parse(text));
    expect(parseStrictJson('"just a string"')).toBe('just a string');
    expect(parseStrictJson('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseStrictJson('-9007199254740991')).toBe(-Number.MAX_SAFE_INTEGER);
    expect(parseStrictJson('1E30')).toBe(1e30); // not an integer literal: allowed
  });

  it('rejects duplicate member names', () => {
    expect(invalid('{"a":1,"b":2,"a":3}')).toMatch(/duplicate member name "a"/);
    expect(invalid('{"a":{"x":1,"x":1}}')).toMatch(/duplicate/);
    expect(invalid('{"\\u0061":1,"a":2}')).toMatch(/duplicate/); // same name after unescaping
  });

  it('rejects __proto__ and never pollutes Object.prototype', () => {
    expect(invalid('{"__proto__":{"polluted":true}}')).toMatch(/__proto__/);
    expect(invalid('{"a":[{"__proto__":{"polluted":true}}]}')).toMatch(/__proto__/);
    expect(invalid('{"__pro\\u0074o__":{"polluted":true}}')).toMatch(/__proto__/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    const parsed = parseStrictJson('{"constructor":{"prototype":{"polluted":true}}}') as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['constructor']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('rejects integer literals beyond ±(2^53 - 1)', () => {
    expect(invalid('9007199254740992')).toMatch(/integer 9007199254740992 is beyond/);
    expect(invalid('[-9007199254740992]')).toMatch(/beyond/);
    expect(invalid('{"id":12345678901234567890}')).toMatch(/beyond/);
    expect(invalid('1e400')).toMatch(/out of range/);
  });

  it('enforces maxDepth (default 64)', () => {
    expect(parseStrictJson('['.repeat(64) + ']'.repeat(64))).toBeDefined();
    expect(invalid('['.repeat(65) + ']'.repeat(65))).toMatch(/nesting deeper than 64/);
    expect(parseStrictJson('{"a":{"b":1}}', { maxDepth: 2 })).toEqual({ a: { b: 1 } });
    expect(invalid('{"a":{"b":[]}}', { maxDepth: 2 })).toMatch(/nesting deeper than 2/);
    expect(invalid('['.repeat(100_000))).toMatch(/nesting/);
    expect(() => parseStrictJson('1', { maxDepth: 0 })).toThrow(new RangeError('maxDepth must be a positive integer'));
  });

  it.each([
    ['', /end of input/],
    ['   ', /end of input/],
    ['{', /member name/],
    ['{"a" 1}', /':'/],
    ['{"a":1,}', /member name/],
    ['[1,]', /unexpected character/],
    ['[1 2]', /','/],
    ['{"a":1} x', /after the JSON value/],
    ['\ufeff{}', /unexpected character/],
    ["{'a':1}", /member name/],
    ['01', /after the JSON value/],
    ['+1', /unexpected character/],
    ['1.', /after the JSON value/],
    ['.5', /unexpected character/],
    ['NaN', /unexpected character/],
    ['tru', /expected true/],
    ['"abc', /unterminated/],
    ['"a\tb"', /control character/],
    ['"\\x41"', /invalid escape/],
    ['"\\u12"', /\\u escape/],
    ['"\\ud800"', /lone surrogate/],
    ['{"\\udc00":1}', /lone surrogate/],
  ])('rejects %j', (text, message) => {
    expect(invalid(text)).toMatch(message);
  });

  it('says where the error is', () => {
    expect(invalid('{"a":1,"a":2}')).toBe('invalid JSON at offset 7: duplicate member name "a"');
  });

  it('checks its argument type', () => {
    expect(() => parseStrictJson(new Uint8Array(2) as unknown as string)).toThrow(new TypeError('text must be a string'));
  });
});
