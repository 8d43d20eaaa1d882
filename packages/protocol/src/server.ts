import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { PlatformError } from '@faas/errors';
import { serviceDefinition } from './definition.js';
import { toServiceError } from './error-mapping.js';
import { AUTHORIZATION_KEY, bearer } from './metadata.js';
import { serverCredentials } from './transport-security.js';
import { Health, HealthCheckResponse_ServingStatus, HealthCheckResponseSchema } from './gen/grpc/health/v1/health_pb.js';

/** What a handler knows about the call it serves. */
export interface CallContext {
  readonly metadata: grpc.Metadata;
  /** Aborted when the caller cancels or its deadline passes. */
  readonly signal: AbortSignal;
  /** Milliseconds left before the caller's deadline (Infinity when none). */
  remainingMs(): number;
}

type In<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;
type Out<M> = M extends { output: infer O extends DescMessage } ? MessageInitShape<O> : never;

type Written<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;

/**
 * The server's side of a bidirectional stream as grpc-js gives it, typed by
 * our messages; writes take whole messages (`create(Schema, ...)`).
 */
export type DuplexStream<M> = grpc.ServerDuplexStream<In<M>, Written<M>>;

type Handler<M> = M extends { methodKind: 'unary' }
  ? (request: In<M>, context: CallContext) => Promise<Out<M>>
  : M extends { methodKind: 'server_streaming' }
    ? (request: In<M>, context: CallContext) => AsyncIterable<Out<M>>
    : M extends { methodKind: 'client_streaming' }
      ? (requests: AsyncIterable<In<M>>, context: CallContext) => Promise<Out<M>>
      : // Long-lived multiplexed streams: the handler owns the stream and writes when it has something.
        (stream: DuplexStream<M>, context: CallContext) => void;

export type ServiceImpl<S extends GenServiceMethods> = { [K in keyof S]: Handler<S[K]> };

export interface ServeOptions {
  /** When set, every call must carry `authorization: Bearer <token>`. */
  readonly token?: string;
  /** Called with unexpected (non-platform) errors before they are answered as `internal`. */
  readonly onUnexpectedError?: (error: unknown, method: string) => void;
}

/** The members every kind of server call shares. */
interface AnyCall {
  readonly metadata: grpc.Metadata;
  getDeadline(): grpc.Deadline;
  on(event: 'cancelled', listener: () => void): unknown;
}

/** grpc-js's handler union does not accept our precisely typed functions. */
const untyped = (handler: unknown) => handler as grpc.UntypedHandleCall;

/** The reason every cancelled call's signal carries (made once: an error's stack trace is not free). */
const CALLER_GAVE_UP = new PlatformError('deadline_exceeded', 'the caller cancelled or its deadline passed');

function contextOf(call: AnyCall): CallContext {
  const controller = new AbortController();
  // grpc-js reports 'cancelled' at the end of calls already answered too; aborting those changes nothing.
  call.on('cancelled', () => controller.abort(CALLER_GAVE_UP));
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number(deadline);
  return {
    metadata: call.metadata,
    signal: controller.signal,
    remainingMs: () => (Number.isFinite(deadlineMs) ? Math.max(0, deadlineMs - Date.now()) : Infinity),
  };
}

function authorised(metadata: grpc.Metadata, token: string | undefined): boolean {
  if (!token) return true;
  return metadata.get(AUTHORIZATION_KEY)[0] === bearer(token);
}

/**
 * Ends a server stream with an error status. grpc-js sends the status from
 * its own 'error' listener; destroy() would skip sending it and leave the
 * client waiting until its deadline.
 */
function failStream(call: NodeJS.EventEmitter, error: Error): void {
  call.emit('error', error);
}

/** Registers a protobuf-es service's implementation on a grpc-js server. */
export function addService<S extends GenServiceMethods>(
  server: grpc.Server,
  service: GenService<S>,
  impl: ServiceImpl<S>,
  options: ServeOptions = {},
): void {
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of service.methods) {
    const handler = (impl as Record<string, (...args: never[]) => unknown>)[method.localName];
    const label = `${service.typeName}/${method.name}`;
    const fail = (error: unknown) => {
      if (!(error instanceof PlatformError)) options.onUnexpectedError?.(error, label);
      return toServiceError(error);
    };
    const denied = () => toServiceError(new PlatformError('unauthenticated', `${label} needs a valid bearer token`));
    const output = method.output;

    switch (method.methodKind) {
      case 'unary':
        handlers[method.localName] = untyped((call: grpc.ServerUnaryCall<never, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          if (!authorised(call.metadata, options.token)) return callback(denied());
          Promise.resolve()
            .then(() => (handler as (r: unknown, c: CallContext) => Promise<never>)(call.request, contextOf(call)))
            .then((response) => callback(null, create(output, response)), (error) => callback(fail(error)));
        });
        break;
      case 'server_streaming':
        handlers[method.localName] = untyped(async (call: grpc.ServerWritableStream<never, unknown>) => {
          if (!authorised(call.metadata, options.token)) return failStream(call, denied());
          try {
            const iterable = (handler as (r: unknown, c: CallContext) => AsyncIterable<never>)(call.request, contextOf(call));
            for await (const message of iterable) {
              if (!call.write(create(output, message))) await new Promise((resolve) => call.once('drain', resolve));
            }
            call.end();
          } catch (error) {
            failStream(call, fail(error));
          }
        });
        break;
      case 'client_streaming':
        handlers[method.localName] = untyped((call: grpc.ServerReadableStream<never, unknown>, callback: grpc.sendUnaryData<unknown>) => {
          if (!authorised(call.metadata, options.token)) return callback(denied());
          Promise.resolve()
            .then(() => (handler as (r: AsyncIterable<unknown>, c: CallContext) => Promise<never>)(call, contextOf(call)))
            .then((response) => callback(null, create(output, response)), (error) => callback(fail(error)));
        });
        break;
      case 'bidi_streaming':
        handlers[method.localName] = untyped((call: grpc.ServerDuplexStream<never, unknown>) => {
          if (!authorised(call.metadata, options.token)) return failStream(call, denied());
          try {
            (handler as (s: unknown, c: CallContext) => void)(call, contextOf(call));
          } catch (error) {
            failStream(call, fail(error));
          }
        });
        break;
    }
  }
  server.addService(serviceDefinition(service), handlers);
}

/**
 * The standard grpc.health.v1 service. `isServing` is asked on every check,
 * so a service reports NOT_SERVING while a dependency is down.
 */
export function addHealthService(server: grpc.Server, isServing: () => boolean = () => true): void {
  addService(server, Health, {
    async check() {
      return create(HealthCheckResponseSchema, {
        status: isServing() ? HealthCheckResponse_ServingStatus.SERVING : HealthCheckResponse_ServingStatus.NOT_SERVING,
      });
    },
  });
}

/**
 * Binds and starts a server; resolves with the address actually bound,
 * "host:port", where port 0 was replaced by the port the kernel chose.
 * Plaintext, or mutual TLS once configureTransportSecurity turned it on.
 */
export function listen(server: grpc.Server, address: string): Promise<string> {
  return new Promise((resolve, reject) => {
    server.bindAsync(address, serverCredentials(), (error, port) => {
      if (error) reject(new Error(`cannot listen on ${address}: ${error.message}`, { cause: error }));
      else resolve(`${address.slice(0, address.lastIndexOf(':'))}:${port}`);
    });
  });
}

/** Stops accepting calls, lets running ones finish for `graceMs`, then cuts them. */
export function shutdown(server: grpc.Server, graceMs = 5000): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      server.forceShutdown();
      resolve();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}

export { grpc };
