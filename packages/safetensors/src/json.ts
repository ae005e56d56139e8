import { SafetensorsError } from './errors.js';

/**
 * A small strict JSON parser for safetensors headers (RFC 8259). Unlike `JSON.parse` it
 * - reports duplicate object keys (`DUPLICATE_NAME`) instead of silently keeping the last one,
 * - keeps integer literals apart from literals with a fraction or exponent (the latter become {@link JsonFloat}, so
 *   `1.0` is not accepted where an integer is required),
 * - rejects escaped lone surrogates (names must be valid Unicode to be written back as UTF-8),
 * - limits nesting depth, and throws only {@link SafetensorsError}.
 * Objects are returned as `Map`s (no prototype pitfalls with keys like `__proto__`), in document order.
 * @internal
 */
export type JsonValue = null | boolean | number | string | JsonFloat | JsonValue[] | JsonObject;
/** @internal */
export type JsonObject = Map<string, JsonValue>;

/** A number literal with a fraction or exponent. @internal */
export class JsonFloat {
  constructor(readonly value: number) {}
}

const MAX_DEPTH = 64;

/** Parse `text` as one JSON value followed only by whitespace. @internal */
export function parseJson(text: string): JsonValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value(0);
  p.ws();
  if (p.i !== text.length) p.fail('unexpected data after the JSON value');
  return v;
}

class Parser {
  i = 0;
  constructor(readonly s: string) {}

  fail(msg: string): never {
    throw new SafetensorsError('BAD_JSON', `${msg} at header offset ${this.i}`);
  }

  ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) i++;
      else break;
    }
    this.i = i;
  }

  value(depth: number): JsonValue {
    if (depth > MAX_DEPTH) this.fail(`nesting deeper than ${MAX_DEPTH}`);
    const c = this.s.charCodeAt(this.i);
    switch (c) {
      case 0x7b: // {
        return this.object(depth);
      case 0x5b: // [
        return this.array(depth);
      case 0x22: // "
        return this.string();
      case 0x74: // t
        return this.literal('true', true);
      case 0x66: // f
        return this.literal('false', false);
      case 0x6e: // n
        return this.literal('null', null);
      default:
        if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return this.number();
        if (Number.isNaN(c)) this.fail('unexpected end of JSON');
        return this.fail(`unexpected character ${JSON.stringify(this.s[this.i])}`);
    }
  }

  literal<T>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      this.i += word.length;
      return v;
    }
    return this.fail('invalid literal');
  }

  object(depth: number): JsonObject {
    this.i++; // {
    const out: JsonObject = new Map();
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x7d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x22) this.fail('expected a string key');
      const keyAt = this.i;
      const key = this.string();
      if (out.has(key)) {
        throw new SafetensorsError(
          'DUPLICATE_NAME',
          `key ${JSON.stringify(key)} appears twice in a JSON object (header offset ${keyAt})`,
          depth === 0 && key !== '__metadata__' ? { tensor: key } : {},
        );
      }
      this.ws();
      if (this.s.charCodeAt(this.i) !== 0x3a) this.fail("expected ':'");
      this.i++;
      this.ws();
      out.set(key, this.value(depth + 1));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x7d) {
        this.i++;
        return out;
      }
      this.fail("expected ',' or '}'");
    }
  }

  array(depth: number): JsonValue[] {
    this.i++; // [
    const out: JsonValue[] = [];
    this.ws();
    if (this.s.charCodeAt(this.i) === 0x5d) {
      this.i++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value(depth + 1));
      this.ws();
      const c = this.s.charCodeAt(this.i);
      if (c === 0x2c) {
        this.i++;
        continue;
      }
      if (c === 0x5d) {
        this.i++;
        return out;
      }
      this.fail("expected ',' or ']'");
    }
  }

  number(): number | JsonFloat {
    const s = this.s;
    const start = this.i;
    let i = start;
    let integral = true;
    if (s.charCodeAt(i) === 0x2d) i++;
    const d0 = s.charCodeAt(i);
    if (d0 === 0x30) i++;
    else if (d0 >= 0x31 && d0 <= 0x39) {
      while (isDigit(s.charCodeAt(i))) i++;
    } else {
      this.i = i;
      this.fail('invalid number');
    }
    if (s.charCodeAt(i) === 0x2e) {
      integral = false;
      i++;
      if (!isDigit(s.charCodeAt(i))) {
        this.i = i;
        this.fail('invalid number');
      }
      while (isDigit(s.charCodeAt(i))) i++;
    }
    const e = s.charCodeAt(i);
    if (e === 0x65 || e === 0x45) {
      integral = false;
      i++;
      const sign = s.charCodeAt(i);
      if (sign === 0x2b || sign === 0x2d) i++;
      if (!isDigit(s.charCodeAt(i))) {
        this.i = i;
        this.fail('invalid number');
      }
      while (isDigit(s.charCodeAt(i))) i++;
    }
    this.i = i;
    const v = Number(s.slice(start, i));
    return integral ? v : new JsonFloat(v);
  }

  string(): string {
    const s = this.s;
    let i = this.i + 1; // after the opening quote
    let out = '';
    let chunk = i;
    for (;;) {
      if (i >= s.length) {
        this.i = i;
        this.fail('unterminated string');
      }
      const c = s.charCodeAt(i);
      if (c === 0x22) {
        out += s.slice(chunk, i);
        this.i = i + 1;
        return out;
      }
      if (c < 0x20) {
        this.i = i;
        this.fail('control character in string');
      }
      if (c === 0x5c) {
        out += s.slice(chunk, i);
        i++;
        const esc = s.charCodeAt(i);
        switch (esc) {
          case 0x22:
            out += '"';
            break;
          case 0x5c:
            out += '\\';
            break;
          case 0x2f:
            out += '/';
            break;
          case 0x62:
            out += '\b';
            break;
          case 0x66:
            out += '\f';
            break;
          case 0x6e:
            out += '\n';
            break;
          case 0x72:
            out += '\r';
            break;
          case 0x74:
            out += '\t';
            break;
          case 0x75: {
            const u = this.hex4(i + 1);
            i += 4;
            if (u >= 0xd800 && u <= 0xdbff) {
              // must be followed by an escaped low surrogate
              if (s.charCodeAt(i + 1) !== 0x5c || s.charCodeAt(i + 2) !== 0x75) {
                this.i = i;
                this.fail('lone surrogate escape in string');
              }
              const lo = this.hex4(i + 3);
              if (lo < 0xdc00 || lo > 0xdfff) {
                this.i = i;
                this.fail('lone surrogate escape in string');
              }
              i += 6;
              out += String.fromCharCode(u, lo);
            } else if (u >= 0xdc00 && u <= 0xdfff) {
              this.i = i;
              this.fail('lone surrogate escape in string');
            } else {
              out += String.fromCharCode(u);
            }
            break;
          }
          default:
            this.i = i;
            this.fail('invalid escape in string');
        }
        i++;
        chunk = i;
        continue;
      }
      i++;
    }
  }

  hex4(at: number): number {
    let v = 0;
    for (let k = 0; k < 4; k++) {
      const c = this.s.charCodeAt(at + k);
      let d: number;
      if (c >= 0x30 && c <= 0x39) d = c - 0x30;
      else if (c >= 0x61 && c <= 0x66) d = c - 0x57;
      else if (c >= 0x41 && c <= 0x46) d = c - 0x37;
      else {
        this.i = at + k;
        return this.fail('invalid \\u escape');
      }
      v = v * 16 + d;
    }
    return v;
  }
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
