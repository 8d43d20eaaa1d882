import * as grpc from '@grpc/grpc-js';
import { create, type DescMessage, type MessageInitShape, type MessageShape } from '@bufbuild/protobuf';
import type { GenService, GenServiceMethods } from '@bufbuild/protobuf/codegenv2';
import { serviceDefinition } from './definition.js';
import { fromServiceError } from './error-mapping.js';
import { AUTHORIZATION_KEY, bearer } from './metadata.js';
import { channelSecurity } from './transport-security.js';

export interface CallOptions {
  /** Per-call budget; overrides the client's default. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

type Req<M> = M extends { input: infer I extends DescMessage } ? MessageInitShape<I> : never;
type Res<M> = M extends { output: infer O extends DescMessage } ? MessageShape<O> : never;

type Sent<M> = M extends { input: infer I extends DescMessage } ? MessageShape<I> : never;

/**
 * A bidirectional stream as grpc-js gives it, typed by our messages. Writes
 * take whole messages (`create(Schema, ...)`); the 'error' event carries a
 * grpc ServiceError, for `fromServiceError`.
 */
export type DuplexCall<M> = grpc.ClientDuplexStream<Sent<M>, Res<M>>;

type ClientMethod<M> = M extends { methodKind: 'unary' }
  ? (request: Req<M>, options?: CallOptions) => Promise<Res<M>>
  : M extends { methodKind: 'server_streaming' }
    ? (request: Req<M>, options?: CallOptions) => AsyncIterable<Res<M>>
    : M extends { methodKind: 'client_streaming' }
      ? (requests: AsyncIterable<Req<M>>, options?: CallOptions) => Promise<Res<M>>
      : (options?: CallOptions) => DuplexCall<M>;

export type Client<S extends GenServiceMethods> = { [K in keyof S]: ClientMethod<S[K]> } & {
  /** The underlying channel's client, for waitForReady and close. */
  readonly raw: grpc.Client;
  close(): void;
};

export interface ClientOptions {
  /** Sent as a bearer token on every call. */
  readonly token?: string;
  /** Default per-call budget (ms); 0 means none. */
  readonly defaultTimeoutMs?: number;
  /** A human name of the peer used in error messages, e.g. "stubs". */
  readonly peerName?: string;
  /**
   * While calls are open, the peer is pinged this often and taken for gone
   * when it does not answer within as long again: its calls then fail
   * (unavailable) instead of waiting for their deadlines. 30 s by default.
   */
  readonly keepaliveMs?: number;
}

/**
 * A typed client for a protobuf-es service over grpc-js. Every failure comes
 * back as a PlatformError with a catalogue code.
 */
export function createClient<S extends GenServiceMethods>(
  service: GenService<S>,
  address: string,
  options: ClientOptions = {},
): Client<S> {
  const Constructor = grpc.makeGenericClientConstructor(serviceDefinition(service), service.typeName);
  const security = channelSecurity();
  const raw = new Constructor(address, security.credentials, {
    ...security.options,
    'grpc.keepalive_time_ms': options.keepaliveMs ?? 30_000,
    ...(options.keepaliveMs ? { 'grpc.keepalive_timeout_ms': options.keepaliveMs } : {}),
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
    'grpc.max_send_message_length': 64 * 1024 * 1024,
  }) as unknown as grpc.Client & Record<string, (...args: unknown[]) => unknown>;
  const peer = options.peerName ?? service.typeName;

  const metadata = () => {
    const md = new grpc.Metadata();
    if (options.token) md.set(AUTHORIZATION_KEY, bearer(options.token));
    return md;
  };
  const callOptions = (opts?: CallOptions): grpc.CallOptions => {
    const timeoutMs = opts?.timeoutMs ?? options.defaultTimeoutMs ?? 0;
    return timeoutMs > 0 ? { deadline: Date.now() + timeoutMs } : {};
  };
  const cancelOnAbort = (call: grpc.Call, signal?: AbortSignal) => {
    if (!signal) return;
    if (signal.aborted) call.cancel();
    else signal.addEventListener('abort', () => call.cancel(), { once: true });
  };

  const client: Record<string, unknown> = { raw, close: () => raw.close() };
  for (const method of service.methods) {
    const fn = raw[method.localName]!.bind(raw);
    const input = method.input;
    switch (method.methodKind) {
      case 'unary':
        client[method.localName] = (request: MessageInitShape<DescMessage>, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = fn(create(input, request), metadata(), callOptions(opts), (error: grpc.ServiceError | null, response: unknown) =>
              error ? reject(fromServiceError(error, peer)) : resolve(response),
            ) as grpc.Call;
            cancelOnAbort(call, opts?.signal);
          });
        break;
      case 'server_streaming':
        client[method.localName] = (request: MessageInitShape<DescMessage>, opts?: CallOptions) => {
          const call = fn(create(input, request), metadata(), callOptions(opts)) as grpc.ClientReadableStream<unknown>;
          cancelOnAbort(call, opts?.signal);
          return (async function* () {
            try {
              for await (const message of call) yield message;
            } catch (error) {
              throw fromServiceError(error, peer);
            }
          })();
        };
        break;
      case 'client_streaming':
        client[method.localName] = (requests: AsyncIterable<MessageInitShape<DescMessage>>, opts?: CallOptions) =>
          new Promise((resolve, reject) => {
            const call = fn(metadata(), callOptions(opts), (error: grpc.ServiceError | null, response: unknown) =>
              error ? reject(fromServiceError(error, peer)) : resolve(response),
            ) as grpc.ClientWritableStream<unknown>;
            cancelOnAbort(call, opts?.signal);
            (async () => {
              for await (const request of requests) {
                if (!call.write(create(input, request))) await new Promise((r) => call.once('drain', r));
              }
              call.end();
            })().catch((error) => {
              // The source failed (e.g. the upload was cut): abandon the call.
              call.cancel();
              reject(error);
            });
          });
        break;
      case 'bidi_streaming':
        // Long-lived streams (the hot path) are driven by their owners, message by message.
        client[method.localName] = (opts?: CallOptions) => {
          const call = fn(metadata(), callOptions(opts)) as grpc.ClientDuplexStream<unknown, unknown>;
          cancelOnAbort(call, opts?.signal);
          return call;
        };
        break;
    }
  }
  return client as Client<S>;
}
