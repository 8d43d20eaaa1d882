/**
 * A fake funclet's Attach stream to a real controller: reports the
 * sandboxes the test says it runs, grants claims of unowned ones as a
 * funclet would, and can be cut to stand for a funclet that died.
 */
import { ControllerAttachRequestSchema, SandboxReportSchema, create, type Client, type Controller, type ControllerAttachResponse, type MessageInitShape } from '@faas/protocol';

export interface FakeFuncletIdentity {
  readonly funcletId: string;
  readonly address: string;
  readonly bootId: string;
  readonly memoryMbTotal?: number;
  readonly memoryMbUsed?: number;
  readonly runtimes?: string[];
}

export type FakeSandbox = MessageInitShape<typeof SandboxReportSchema> & { sandboxId: string; owner: string };

export class FakeAttachment {
  /** Sandboxes reported, by id; the test adds those its fake funclet makes. */
  readonly sandboxes = new Map<string, FakeSandbox>();
  readonly orders: ControllerAttachResponse[] = [];
  /** Resolves with the controller's id, from its first orders. */
  readonly controllerId: Promise<string>;
  private readonly stream;
  private readonly timer: NodeJS.Timeout;

  constructor(
    client: Client<typeof Controller.method>,
    private identity: FakeFuncletIdentity,
    private readonly intervalMs = 200,
  ) {
    this.stream = client.attach();
    let named!: (id: string) => void;
    this.controllerId = new Promise((resolve) => (named = resolve));
    this.stream.on('data', (orders: ControllerAttachResponse) => {
      this.orders.push(orders);
      if (orders.controllerId) named(orders.controllerId);
      void this.controllerId.then((controllerId) => {
        for (const id of orders.claim) {
          const sandbox = this.sandboxes.get(id);
          if (sandbox && sandbox.owner === '') sandbox.owner = controllerId;
        }
        if (orders.claim.length > 0) this.report();
      });
    });
    this.stream.on('error', () => {});
    this.report();
    this.timer = setInterval(() => this.report(), intervalMs);
  }

  /** Comes back as another boot (a restarted funclet): its sandboxes are gone. */
  reboot(bootId: string): void {
    this.identity = { ...this.identity, bootId };
    this.sandboxes.clear();
    this.report();
  }

  report(): void {
    this.stream.write(
      create(ControllerAttachRequestSchema, {
        memoryMbTotal: 4096,
        memoryMbUsed: 0,
        runtimes: ['nodejs'],
        ...this.identity,
        reportIntervalMs: this.intervalMs,
        sandboxes: [...this.sandboxes.values()].map((sandbox) => create(SandboxReportSchema, sandbox)),
      }),
    );
  }

  /** Ends the stream as a funclet that stops would. */
  close(): void {
    clearInterval(this.timer);
    this.stream.end();
  }

  /** Cuts the stream as a funclet killed with -9 would. */
  cut(): void {
    clearInterval(this.timer);
    this.stream.cancel();
  }
}
