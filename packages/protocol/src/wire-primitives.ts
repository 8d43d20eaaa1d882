/**
 * Protobuf wire format by hand, for the few messages on the hot path
 * (stream-codec.ts): a sizing pass then a writing pass into one buffer, and
 * a reader over a received buffer. protobuf-es's reflective toBinary costs
 * ~30 µs for one batched call; this costs a small fraction of it.
 */

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_LEN = 2;
export const WIRE_FIXED32 = 5;

export function varintSize(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  if (value <= 0xffff_ffff) return 5;
  return varint64Size(BigInt(value));
}

export function varint64Size(value: bigint): number {
  let size = 1;
  for (let rest = BigInt.asUintN(64, value) >> 7n; rest > 0n; rest >>= 7n) size++;
  return size;
}

/** Bytes of a length-delimited field: tag (one byte: field numbers below 16), length, content. */
export function lenFieldSize(length: number): number {
  return 1 + varintSize(length) + length;
}

/**
 * Strings shorter than this are measured, written and read by a loop in
 * JavaScript: for the call ids, names, paths and header values of a call,
 * cheaper than a round trip into Buffer's native UTF-8 code.
 */
const SHORT_STRING = 64;

/** UTF-8 length of `value`. */
export function utf8Length(value: string): number {
  if (value.length >= SHORT_STRING) return Buffer.byteLength(value);
  let length = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) length += 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code < 0xdc00 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      length += 4;
      i++;
    } else length += 3;
  }
  return length;
}

export function stringSize(value: string): number {
  return value === '' ? 0 : lenFieldSize(utf8Length(value));
}

export function bytesSize(value: Uint8Array): number {
  return value.byteLength === 0 ? 0 : lenFieldSize(value.byteLength);
}

export function uintSize(value: number): number {
  return value === 0 ? 0 : 1 + varintSize(value);
}

/**
 * Writes into a buffer of the exact size the sizing pass found. `lengths`
 * holds the nested messages' sizes in the order the sizing pass met them,
 * which is the order the writing pass needs them.
 */
export class Out {
  readonly buf: Buffer;
  pos = 0;
  private next = 0;

  constructor(
    size: number,
    private readonly lengths: readonly number[],
  ) {
    this.buf = Buffer.allocUnsafe(size);
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  varint(value: number): void {
    if (value > 0xffff_ffff) return this.varint64(BigInt(value));
    let rest = value >>> 0;
    while (rest >= 0x80) {
      this.buf[this.pos++] = (rest & 0x7f) | 0x80;
      rest >>>= 7;
    }
    this.buf[this.pos++] = rest;
  }

  varint64(value: bigint): void {
    let rest = BigInt.asUintN(64, value);
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  uint(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  uint64(field: number, value: bigint): void {
    if (value === 0n) return;
    this.tag(field, WIRE_VARINT);
    this.varint64(value);
  }

  bool(field: number, value: boolean): void {
    if (!value) return;
    this.tag(field, WIRE_VARINT);
    this.buf[this.pos++] = 1;
  }

  double(field: number, value: number): void {
    if (value === 0) return;
    this.tag(field, WIRE_FIXED64);
    this.buf.writeDoubleLE(value, this.pos);
    this.pos += 8;
  }

  string(field: number, value: string): void {
    if (value === '') return;
    this.tag(field, WIRE_LEN);
    this.utf8(value);
  }

  /** Length and UTF-8 bytes of `value` (lone surrogates become U+FFFD, as Buffer writes them). */
  utf8(value: string): void {
    const length = utf8Length(value);
    this.varint(length);
    if (value.length >= SHORT_STRING) {
      this.pos += this.buf.write(value, this.pos, length, 'utf8');
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < value.length; i++) {
      let code = value.charCodeAt(i);
      if (code < 0x80) {
        buf[pos++] = code;
      } else if (code < 0x800) {
        buf[pos++] = 0xc0 | (code >> 6);
        buf[pos++] = 0x80 | (code & 0x3f);
      } else if (code >= 0xd800 && code < 0xdc00 && i + 1 < value.length && (value.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
        code = 0x10000 + ((code - 0xd800) << 10) + (value.charCodeAt(++i) - 0xdc00);
        buf[pos++] = 0xf0 | (code >> 18);
        buf[pos++] = 0x80 | ((code >> 12) & 0x3f);
        buf[pos++] = 0x80 | ((code >> 6) & 0x3f);
        buf[pos++] = 0x80 | (code & 0x3f);
      } else {
        // A lone surrogate is written as U+FFFD, which is three bytes like the surrogate itself.
        if (code >= 0xd800 && code < 0xe000) code = 0xfffd;
        buf[pos++] = 0xe0 | (code >> 12);
        buf[pos++] = 0x80 | ((code >> 6) & 0x3f);
        buf[pos++] = 0x80 | (code & 0x3f);
      }
    }
    this.pos = pos;
  }

  bytes(field: number, value: Uint8Array): void {
    if (value.byteLength === 0) return;
    this.tag(field, WIRE_LEN);
    this.varint(value.byteLength);
    this.buf.set(value, this.pos);
    this.pos += value.byteLength;
  }

  /** Starts a nested message: its tag and the length the sizing pass recorded. */
  message(field: number): void {
    this.tag(field, WIRE_LEN);
    this.varint(this.lengths[this.next++]!);
  }

  /** Nested bytes made elsewhere (a rarely sent message encoded by protobuf-es). */
  embedded(field: number, encoded: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(encoded.byteLength);
    this.buf.set(encoded, this.pos);
    this.pos += encoded.byteLength;
  }
}

/** Reads a received message; `end` bounds the nested message being read. */
export class In {
  pos: number;

  constructor(
    readonly buf: Buffer,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }

  get more(): boolean {
    return this.pos < this.end;
  }

  /** A 32-bit varint field (uint32, enum, bool, a length): the low 32 bits, as protobuf reads them. */
  varint(): number {
    let result = 0;
    for (let shift = 0; shift < 70; shift += 7) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      if (shift < 32) result |= (byte & 0x7f) << shift;
      if (byte < 0x80) return result >>> 0;
    }
    throw new RangeError('varint too long');
  }

  varint64(): bigint {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new RangeError('truncated varint');
      const byte = this.buf[this.pos++]!;
      result |= BigInt(byte & 0x7f) << shift;
      if (byte < 0x80) return BigInt.asUintN(64, result);
      shift += 7n;
      if (shift > 63n) throw new RangeError('varint too long');
    }
  }

  /** Start and end of the next length-delimited field's content. */
  span(): [number, number] {
    const length = this.varint();
    const start = this.pos;
    const end = start + length;
    if (end > this.end) throw new RangeError('length-delimited field exceeds its message');
    this.pos = end;
    return [start, end];
  }

  string(): string {
    const [start, end] = this.span();
    if (end - start < SHORT_STRING) {
      // ASCII, the usual case, without leaving JavaScript; anything else goes to Buffer's decoder.
      let text = '';
      for (let i = start; i < end; i++) {
        const byte = this.buf[i]!;
        if (byte >= 0x80) return this.buf.toString('utf8', start, end);
        text += String.fromCharCode(byte);
      }
      return text;
    }
    return this.buf.toString('utf8', start, end);
  }

  bytes(): Buffer {
    const [start, end] = this.span();
    return this.buf.subarray(start, end);
  }

  double(): number {
    if (this.pos + 8 > this.end) throw new RangeError('truncated double');
    const value = this.buf.readDoubleLE(this.pos);
    this.pos += 8;
    return value;
  }

  /** A nested message's reader (the outer one moves past it). */
  nested(): In {
    const [start, end] = this.span();
    return new In(this.buf, start, end);
  }

  skip(wireType: number): void {
    switch (wireType) {
      case WIRE_VARINT:
        this.varint64();
        return;
      case WIRE_FIXED64:
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.span();
        return;
      case WIRE_FIXED32:
        this.pos += 4;
        return;
      default:
        throw new RangeError(`wire type ${wireType} is not supported here`);
    }
  }
}
