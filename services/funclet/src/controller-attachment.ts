/**
 * The funclet's end of Controller.Attach, one per controller replica: the
 * funclet reports itself and its sandboxes at once when they change and
 * every interval otherwise, and follows the controller's orders (claims of
 * sandboxes nobody owns). The stream open is what keeps the funclet in the
 * controller's view; when it breaks, the funclet dials again with backoff
 * and that controller's sandboxes become nobody's until one claims them.
 */
import { create, ControllerAttachRequestSchema, SandboxReportSchema, type Client, type Controller, type DuplexCall, type ControllerAttachResponse, type ControllerAttachRequest } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';
import type { SandboxManager } from './sandbox-manager.js';

/** The funclet's identity and capacity, as every report starts. */
export interface FuncletSelf {
  readonly funcletId: string;
  readonly address: string;
  readonly bootId: string;
  readonly memoryMbTotal: number;
  readonly memoryMbUsed: number;
  readonly runtimes: readonly string[];
}

export interface AttachmentOptions {
  readonly client: Client<typeof Controller.method>;
  readonly manager: Pick<SandboxManager, 'states' | 'ownership'>;
  readonly describe: () => FuncletSelf;
  readonly intervalMs: number;
  readonly log: Logger;
}

const FIRST_RETRY_MS = 100;
const LAST_RETRY_MS = 2_000;

export class ControllerAttachment {
  private stream: DuplexCall<typeof Controller.method.attach> | undefined;
  /** The controller's id, once its first orders named it. */
  private controllerId: string | undefined;
  private retryMs = FIRST_RETRY_MS;
  private retryTimer: NodeJS.Timeout | undefined;
  private reportTimer: NodeJS.Timeout | undefined;
  private reportQueued = false;
  private stopped = false;
  /** Whether the last connection attempt failed, so an outage is logged once. */
  private failing: boolean | undefined;

  constructor(private readonly options: AttachmentOptions) {
    // A change goes out at once, but a burst of them as one report.
    options.manager.ownership.onChange(() => this.queueReport());
  }

  start(): void {
    this.connect();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    clearTimeout(this.reportTimer);
    this.stream?.end();
    this.stream = undefined;
  }

  private connect(): void {
    if (this.stopped) return;
    const stream = this.options.client.attach();
    this.stream = stream;
    stream.on('data', (orders: ControllerAttachResponse) => this.follow(stream, orders));
    const broken = (error?: Error) => {
      if (this.stream !== stream) return;
      this.stream = undefined;
      clearTimeout(this.reportTimer);
      this.forgetController();
      if (this.stopped) return;
      if (this.failing !== true) this.options.log.warn({ err: error?.message ?? 'stream ended' }, 'lost the controller; attaching again');
      this.failing = true;
      this.retryTimer = setTimeout(() => this.connect(), this.retryMs);
      this.retryMs = Math.min(LAST_RETRY_MS, this.retryMs * 2);
    };
    stream.on('error', broken);
    stream.on('end', () => broken());
    this.send();
  }

  private follow(stream: DuplexCall<typeof Controller.method.attach>, orders: ControllerAttachResponse): void {
    const { ownership } = this.options.manager;
    if (orders.controllerId && orders.controllerId !== this.controllerId) {
      this.forgetController();
      this.controllerId = orders.controllerId;
      ownership.attach(orders.controllerId);
      this.retryMs = FIRST_RETRY_MS;
      if (this.failing !== false) this.options.log.info({ controllerId: orders.controllerId }, 'attached to the controller');
      this.failing = false;
    }
    if (!this.controllerId || this.stream !== stream) return;
    let granted = false;
    for (const sandboxId of orders.claim) granted = ownership.claim(sandboxId, this.controllerId) || granted;
    // A claim refused changes nothing, but the claimer must hear who won.
    if (!granted && orders.claim.length > 0) this.queueReport();
  }

  private forgetController(): void {
    if (this.controllerId === undefined) return;
    const id = this.controllerId;
    this.controllerId = undefined;
    this.options.manager.ownership.detach(id);
  }

  private queueReport(): void {
    if (this.reportQueued || !this.stream) return;
    this.reportQueued = true;
    setImmediate(() => this.send());
  }

  /** One whole report now, and the next after an interval unless a change comes first. */
  private send(): void {
    this.reportQueued = false;
    clearTimeout(this.reportTimer);
    const stream = this.stream;
    if (!stream) return;
    stream.write(this.report());
    this.reportTimer = setTimeout(() => this.send(), this.options.intervalMs);
  }

  private report(): ControllerAttachRequest {
    const self = this.options.describe();
    return create(ControllerAttachRequestSchema, {
      funcletId: self.funcletId,
      address: self.address,
      bootId: self.bootId,
      memoryMbTotal: self.memoryMbTotal,
      memoryMbUsed: self.memoryMbUsed,
      runtimes: [...self.runtimes],
      reportIntervalMs: this.options.intervalMs,
      sandboxes: this.options.manager.states().map((state) =>
        create(SandboxReportSchema, {
          sandboxId: state.sandboxId,
          functionName: state.functionName,
          functionVersion: state.functionVersion,
          memoryMb: state.memoryMb,
          concurrency: state.concurrency,
          inFlight: state.inFlight,
          owner: state.owner,
          reservation: state.reservation,
          idleMs: Math.min(state.idleMs, 0xffffffff),
          unownedMs: Math.min(state.unownedMs, 0xffffffff),
        }),
      ),
    });
  }
}
