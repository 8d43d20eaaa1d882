/**
 * The two-pass writer the hand codecs share (stream-codec.ts): a sizing
 * pass records nested messages' sizes (and delegated encodings) in a plan,
 * a writing pass fills one buffer of exactly the right size.
 */
import { toBinary, type DescMessage } from '@bufbuild/protobuf';
import { In, Out, WIRE_LEN, WIRE_VARINT, lenFieldSize, utf8Length, varint64Size, varintSize } from './wire-primitives.js';

export interface MessageCodec {
  encode(message: unknown): Buffer;
  decode(bytes: Buffer): unknown;
}

/** Nested message sizes (pre-order) and delegated encodings, from the sizing pass for the writing pass. */
export interface Plan {
  readonly lengths: number[];
  readonly blobs: Uint8Array[];
}

export const EMPTY = new Uint8Array(0);

// ---- sizing and writing helpers -------------------------------------------

/** A nested message's field size; its own size goes into the plan first, so writing finds it in order. */
export function nested(plan: Plan, size: (plan: Plan) => number): number {
  const index = plan.lengths.length;
  plan.lengths.push(0);
  const length = size(plan);
  plan.lengths[index] = length;
  return lenFieldSize(length);
}

export function delegated<S extends DescMessage>(plan: Plan, schema: S, message: Parameters<typeof toBinary<S>>[1]): number {
  const encoded = toBinary(schema, message);
  plan.blobs.push(encoded);
  return lenFieldSize(encoded.byteLength);
}

export class Writer extends Out {
  private nextBlob = 0;

  constructor(size: number, plan: Plan) {
    super(size, plan.lengths);
    this.blobs = plan.blobs;
  }

  private readonly blobs: Uint8Array[];

  blob(field: number): void {
    this.embedded(field, this.blobs[this.nextBlob++]!);
  }

  /** A string written even when empty (map entries always carry key and value). */
  stringAlways(field: number, value: string): void {
    this.tag(field, WIRE_LEN);
    this.utf8(value);
  }
}

export function encodeWith<M>(size: (message: M, plan: Plan) => number, write: (out: Writer, message: M) => void): (message: unknown) => Buffer {
  return (message) => {
    const plan: Plan = { lengths: [], blobs: [] };
    const total = size(message as M, plan);
    const out = new Writer(total, plan);
    write(out, message as M);
    if (out.pos !== total) throw new Error(`stream codec wrote ${out.pos} bytes, sized ${total}`);
    return out.buf;
  };
}

export const alwaysStringSize = (value: string) => lenFieldSize(utf8Length(value));
export const boolSize = (value: boolean) => (value ? 2 : 0);
export const uint64Size = (value: bigint) => (value === 0n ? 0 : 1 + varint64Size(value));
export const doubleSize = (value: number) => (value === 0 ? 0 : 9);

// ---- repeated uint32 (packed on the wire, as proto3 writes them) ---------------

export function packedSize(values: readonly number[]): number {
  if (values.length === 0) return 0;
  let length = 0;
  for (const value of values) length += varintSize(value);
  return lenFieldSize(length);
}

export function writePacked(out: Writer, field: number, values: readonly number[]): void {
  if (values.length === 0) return;
  let length = 0;
  for (const value of values) length += varintSize(value);
  out.tag(field, WIRE_LEN);
  out.varint(length);
  for (const value of values) out.varint(value);
}

/** Packed or not: a reader accepts both. */
export function readUint32s(input: In, wire: number, into: number[]): void {
  if (wire === WIRE_VARINT) {
    into.push(input.varint());
    return;
  }
  const packed = input.nested();
  while (packed.more) into.push(packed.varint());
}

