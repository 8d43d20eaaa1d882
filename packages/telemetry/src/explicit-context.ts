import { ROOT_CONTEXT, type Context, type ContextManager } from '@opentelemetry/api';

/**
 * Installed instead of an async context manager. Every hop of ours hands
 * the trace context on explicitly (in stream messages, gRPC metadata and
 * NATS headers: startCallSpan), so nothing needs the ambient "active" span;
 * and Node 20's AsyncLocalStorage, which the SDK would use, installs
 * promise hooks that tax every promise on the hot path.
 */
export class ExplicitContextManager implements ContextManager {
  active(): Context {
    return ROOT_CONTEXT;
  }

  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(_context: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return fn.call(thisArg, ...args);
  }

  bind<T>(_context: Context, target: T): T {
    return target;
  }

  enable(): this {
    return this;
  }

  disable(): this {
    return this;
  }
}
