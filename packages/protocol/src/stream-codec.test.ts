import { create, equals, fromBinary, toBinary, type DescMessage, type MessageShape } from '@bufbuild/protobuf';
import { describe, expect, it } from 'vitest';
import { CallOutcomeSchema, LeaseSchema } from './gen/faas/v1/calls_pb.js';
import { ControllerCallsRequestSchema, ControllerCallsResponseSchema, InvokeRequestSchema, InvokeResponseSchema, LeaseRenewalSchema, PlacementCallSchema } from './gen/faas/v1/controller_pb.js';
import { FuncletCallsRequestSchema, FuncletCallsResponseSchema, SandboxCallSchema } from './gen/faas/v1/funclet_pb.js';
import { FunctionConfigSchema } from './gen/faas/v1/function_pb.js';
import { InvocationKind, InvocationResultSchema, InvocationSchema } from './gen/faas/v1/invocation_pb.js';
import { STREAM_CODECS } from './stream-codec.js';

/** A small deterministic random source, so a failure can be replayed. */
function random(seed: number) {
  // xorshift32, seeded through a multiplicative hash and warmed up: small seeds would start with tiny outputs.
  let state = Math.imul(seed, 0x9e37_79b1) >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  for (let i = 0; i < 8; i++) next();
  const int = (max: number) => Math.floor(next() * max);
  const pick = <T>(values: readonly T[]) => values[int(values.length)]!;
  const text = () =>
    pick([
      '',
      'noop',
      'a'.repeat(int(200)),
      'héllo wörld',
      '日本語のテキスト',
      'emoji 😀 and more 🎉',
      'lone \ud800 surrogate',
      `call-${int(1e9)}`,
      'x'.repeat(64),
      'y'.repeat(63) + 'é',
    ]);
  const bytes = () => Buffer.from(Array.from({ length: pick([0, 1, 7, 300]) }, () => int(256)));
  const uint = () => pick([0, 1, 127, 128, 16_383, 16_384, 2 ** 21, 2 ** 28, 0xffff_ffff, int(0xffff_ffff)]);
  return { next, int, pick, text, bytes, uint, bool: () => next() < 0.5 };
}

type Random = ReturnType<typeof random>;

function invocation(r: Random) {
  return create(InvocationSchema, {
    functionName: r.text(),
    callId: r.text(),
    kind: r.pick([InvocationKind.UNSPECIFIED, InvocationKind.EVENT, InvocationKind.HTTP]),
    payload: r.bytes(),
    contentType: r.text(),
    wantLogTail: r.bool(),
    http: r.bool()
      ? {
          method: r.text(),
          path: r.text(),
          rawQuery: r.text(),
          headers: Object.fromEntries(Array.from({ length: r.int(5) }, () => [r.text(), r.text()])),
          pathParameters: Object.fromEntries(Array.from({ length: r.pick([0, 0, 2]) }, () => [r.text(), r.text()])),
        }
      : undefined,
    cloudEventAttributes: Object.fromEntries(Array.from({ length: r.pick([0, 0, 1, 4]) }, () => [r.text(), r.text()])),
  });
}

function result(r: Random) {
  return create(InvocationResultSchema, {
    callId: r.text(),
    result: r.bytes(),
    functionError: r.bool() ? { type: r.text(), message: r.text(), stack: r.text() } : undefined,
    durationSeconds: r.pick([0, 0.000123, 12.5, -1]),
    functionVersion: r.pick([0n, 1n, 2n ** 40n, 2n ** 64n - 1n]),
    sandboxId: r.text(),
    coldStart: r.bool(),
    logTail: r.bytes(),
    httpResponse: r.bool()
      ? { status: r.uint(), headers: Array.from({ length: r.int(4) }, () => ({ name: r.text(), value: r.text() })), body: r.bytes() }
      : undefined,
  });
}

function lease(r: Random) {
  return create(LeaseSchema, {
    leaseId: r.text(),
    functionName: r.text(),
    functionVersion: BigInt(r.uint()),
    funcletId: r.text(),
    funcletAddress: r.text(),
    sandboxId: r.text(),
    slots: r.uint(),
    ttlMs: r.uint(),
    timeoutMs: r.uint(),
  });
}

function outcome(r: Random) {
  return create(CallOutcomeSchema, {
    id: r.uint(),
    result: r.bool() ? result(r) : undefined,
    failure: r.bool() ? { code: r.text(), message: r.text(), retryAfterMs: r.uint() } : undefined,
    sandboxLost: r.bool(),
    lease: r.bool() ? lease(r) : undefined,
  });
}

const samples: Record<string, (r: Random) => MessageShape<DescMessage>> = {
  'faas.v1.FuncletCallsRequest': (r) =>
    create(FuncletCallsRequestSchema, {
      calls: Array.from({ length: r.int(4) }, () =>
        create(SandboxCallSchema, {
          id: r.uint(),
          sandboxId: r.text(),
          invocation: r.bool() ? invocation(r) : undefined,
          timeoutMs: r.uint(),
          function: r.bool()
            ? create(FunctionConfigSchema, { name: r.text(), runtime: 'nodejs', memoryMb: r.uint(), version: 7n, environment: { A: r.text() }, concurrencyPerSandbox: r.uint() })
            : undefined,
          traceparent: r.text(),
          tracestate: r.text(),
          owner: r.text(),
          reservation: r.text(),
        }),
      ),
      cancelled: Array.from({ length: r.int(4) }, () => r.uint()),
    }),
  'faas.v1.FuncletCallsResponse': (r) =>
    create(FuncletCallsResponseSchema, {
      outcomes: Array.from({ length: r.int(4) }, () => outcome(r)),
      created: Array.from({ length: r.int(3) }, () => ({ callId: r.uint(), sandboxId: r.text() })),
    }),
  'faas.v1.ControllerCallsRequest': (r) =>
    create(ControllerCallsRequestSchema, {
      calls: Array.from({ length: r.int(4) }, () =>
        create(PlacementCallSchema, { id: r.uint(), invocation: r.bool() ? invocation(r) : undefined, traceparent: r.text(), tracestate: r.text(), wantLease: r.bool() }),
      ),
      cancelled: Array.from({ length: r.int(4) }, () => r.uint()),
      renewals: Array.from({ length: r.int(4) }, () => create(LeaseRenewalSchema, { leaseId: r.text(), slots: r.uint(), sandboxGone: r.bool() })),
    }),
  'faas.v1.ControllerCallsResponse': (r) =>
    create(ControllerCallsResponseSchema, {
      outcomes: Array.from({ length: r.int(4) }, () => outcome(r)),
      leases: Array.from({ length: r.int(3) }, () => lease(r)),
      revoked: Array.from({ length: r.int(3) }, () => r.text()),
    }),
  'faas.v1.InvokeRequest': (r) => create(InvokeRequestSchema, { invocation: r.bool() ? invocation(r) : undefined }),
  'faas.v1.InvokeResponse': (r) => create(InvokeResponseSchema, { result: r.bool() ? result(r) : undefined }),
};

const schemas: Record<string, DescMessage> = {
  'faas.v1.FuncletCallsRequest': FuncletCallsRequestSchema,
  'faas.v1.FuncletCallsResponse': FuncletCallsResponseSchema,
  'faas.v1.ControllerCallsRequest': ControllerCallsRequestSchema,
  'faas.v1.ControllerCallsResponse': ControllerCallsResponseSchema,
  'faas.v1.InvokeRequest': InvokeRequestSchema,
  'faas.v1.InvokeResponse': InvokeResponseSchema,
};

/** What protobuf-es makes of the message after a round trip through its own wire format (lone surrogates become U+FFFD). */
const canonical = (schema: DescMessage, message: MessageShape<DescMessage>) => fromBinary(schema, toBinary(schema, message));

describe('stream codecs', () => {
  it('draw varied samples (the checks below would pass vacuously on empty ones)', () => {
    const sizes = Array.from({ length: 50 }, (_, seed) => toBinary(FuncletCallsRequestSchema, samples['faas.v1.FuncletCallsRequest']!(random(seed + 1)) as never).length);
    expect(Math.max(...sizes)).toBeGreaterThan(200);
    expect(new Set(sizes).size).toBeGreaterThan(25);
  });

  it('cover exactly the hot path\'s messages', () => {
    expect([...STREAM_CODECS.keys()].sort()).toEqual(Object.keys(schemas).sort());
  });

  for (const [typeName, schema] of Object.entries(schemas)) {
    const codec = STREAM_CODECS.get(typeName)!;

    it(`${typeName}: what it writes, protobuf-es reads as the same message`, () => {
      for (let seed = 1; seed <= 300; seed++) {
        const message = samples[typeName]!(random(seed));
        const decoded = fromBinary(schema, codec.encode(message));
        expect(equals(schema, decoded, canonical(schema, message)), `seed ${seed}`).toBe(true);
      }
    });

    it(`${typeName}: what protobuf-es writes, it reads as the same message, field for field`, () => {
      for (let seed = 1; seed <= 300; seed++) {
        const message = samples[typeName]!(random(seed));
        const decoded = codec.decode(Buffer.from(toBinary(schema, message))) as MessageShape<DescMessage>;
        const expected = canonical(schema, message);
        expect(equals(schema, decoded, expected), `seed ${seed}`).toBe(true);
        // The same own properties as protobuf-es's messages, so code that spreads or checks them sees no difference.
        expect(JSON.stringify(Object.keys(decoded).sort())).toBe(JSON.stringify(Object.keys(expected).sort()));
      }
    });
  }

  it('reads unpacked repeated ids and skips fields it does not know', () => {
    const codec = STREAM_CODECS.get('faas.v1.FuncletCallsRequest')!;
    // field 2 unpacked (varint 5, varint 300), then an unknown field 15 of each wire type.
    const bytes = Buffer.from([0x10, 0x05, 0x10, 0xac, 0x02, 0x78, 0x01, 0x79, 1, 2, 3, 4, 5, 6, 7, 8, 0x7a, 0x02, 0x61, 0x62, 0x7d, 1, 2, 3, 4]);
    expect((codec.decode(bytes) as { cancelled: number[] }).cancelled).toEqual([5, 300]);
  });

  it('refuses a truncated message instead of reading past it', () => {
    const codec = STREAM_CODECS.get('faas.v1.FuncletCallsResponse')!;
    const bytes = codec.encode(samples['faas.v1.FuncletCallsResponse']!(random(7)));
    if (bytes.length > 2) expect(() => codec.decode(bytes.subarray(0, bytes.length - 1))).toThrow(RangeError);
  });
});
