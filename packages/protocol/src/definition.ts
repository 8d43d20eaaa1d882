import type * as grpc from '@grpc/grpc-js';
import { fromBinary, toBinary, type DescMessage } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { STREAM_CODECS } from './stream-codec.js';

/**
 * protobuf-es v2 generates descriptors, not @grpc/grpc-js service
 * definitions; this builds the latter from the former, so both sides of
 * every call use the same generated messages. The hot path's stream
 * messages are encoded by hand (stream-codec.ts), the rest by protobuf-es.
 */
export function serviceDefinition<S extends GenServiceMethods>(service: GenService<S>): grpc.ServiceDefinition {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming',
      responseStream: method.methodKind === 'server_streaming' || method.methodKind === 'bidi_streaming',
      requestSerialize: serializer(method.input),
      requestDeserialize: deserializer(method.input),
      responseSerialize: serializer(method.output),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
  }
  return definition;
}

function serializer(schema: DescMessage) {
  const fast = STREAM_CODECS.get(schema.typeName);
  if (fast) return fast.encode;
  // Buffer.from over the same memory: grpc-js wants a Buffer, no copy needed.
  return (message: unknown): Buffer => {
    const bytes = toBinary(schema, message as never);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

function deserializer(schema: DescMessage) {
  const fast = STREAM_CODECS.get(schema.typeName);
  if (fast) return fast.decode;
  return (bytes: Buffer) => fromBinary(schema, bytes);
}
