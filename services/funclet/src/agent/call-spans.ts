/**
 * Spans of one call inside the sandbox, which cannot export them itself (no
 * network): the agent's own span for the call and those the handler opens
 * through `context.startSpan`. Ids are made here, so a traceparent the handler
 * passes on names a span that will exist; the funclet records them as they
 * are (SPANS frame). Node builtins only.
 */
import { randomBytes } from 'node:crypto';
import type { AgentSpan } from './wire.js';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** A handler that opens spans in a loop must not grow one frame without bound. */
const MAX_SPANS_PER_CALL = 1_000;

type AttributeValue = string | number | boolean;

/** What `context.startSpan` returns. */
export interface HandlerSpan {
  /** The W3C traceparent naming this span: for work the handler hands on. */
  readonly traceparent: string;
  setAttribute(key: string, value: AttributeValue): HandlerSpan;
  /** Marks the span failed with the error's message. */
  recordError(error: unknown): HandlerSpan;
  /** A child of this span. */
  startSpan(name: string, attributes?: Record<string, AttributeValue>): HandlerSpan;
  end(): void;
}

function spanId(): string {
  return randomBytes(8).toString('hex');
}

export class CallSpans {
  readonly traceId: string;
  /** The agent's span; the handler's context names it as parent. */
  readonly agentSpanId = spanId();
  private readonly parentSpanId: string;
  private readonly flags: string;
  private readonly startedMs = Date.now();
  private readonly finished: AgentSpan[] = [];

  /** Undefined when `traceparent` is not one to continue. */
  static from(traceparent: string | undefined): CallSpans | undefined {
    const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
    return match ? new CallSpans(match[1]!, match[2]!, match[3]!) : undefined;
  }

  private constructor(traceId: string, parentSpanId: string, flags: string) {
    this.traceId = traceId;
    this.parentSpanId = parentSpanId;
    this.flags = flags;
  }

  /** The traceparent the handler gets: the agent's span as parent. */
  get handlerTraceparent(): string {
    return this.traceparentOf(this.agentSpanId);
  }

  startSpan(name: string, parentSpanId: string = this.agentSpanId, attributes: Record<string, AttributeValue> = {}): HandlerSpan {
    const id = spanId();
    const startMs = Date.now();
    const own: Record<string, AttributeValue> = { ...attributes };
    let error: string | undefined;
    let ended = false;
    const span: HandlerSpan = {
      traceparent: this.traceparentOf(id),
      setAttribute: (key, value) => {
        own[String(key)] = value;
        return span;
      },
      recordError: (cause) => {
        error = cause instanceof Error ? cause.message : String(cause);
        return span;
      },
      startSpan: (childName, childAttributes) => this.startSpan(childName, id, childAttributes),
      end: () => {
        if (ended || this.finished.length >= MAX_SPANS_PER_CALL) return;
        ended = true;
        this.finished.push({ traceId: this.traceId, spanId: id, parentSpanId, name: String(name), startMs, endMs: Date.now(), attributes: own, error });
      },
    };
    return span;
  }

  /** Every span of the call, the agent's last (ended now). */
  finish(callId: string, functionError?: string): AgentSpan[] {
    const agent: AgentSpan = {
      traceId: this.traceId,
      spanId: this.agentSpanId,
      parentSpanId: this.parentSpanId,
      name: 'agent invoke',
      startMs: this.startedMs,
      endMs: Date.now(),
      attributes: { 'faas.call_id': callId },
      error: functionError,
    };
    return [...this.finished, agent];
  }

  private traceparentOf(id: string): string {
    return `00-${this.traceId}-${id}-${this.flags}`;
  }
}

/** The span handed out when the host records nothing: names the caller's context, records nothing. */
export function unrecordedSpan(traceparent: string): HandlerSpan {
  const span: HandlerSpan = {
    traceparent,
    setAttribute: () => span,
    recordError: () => span,
    startSpan: () => span,
    end: () => {},
  };
  return span;
}
