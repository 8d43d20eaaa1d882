/**
 * The HTTP triggers this edge serves: stubs' `http` triggers in a router of
 * their own (find-my-way, Fastify's router), rebuilt whenever the list
 * changes. Stubs is asked every `refreshMs` and right after a trigger is
 * written through this edge; another edge's writes show within the
 * interval. Requests no platform route takes are looked up here.
 */
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import { HTTP_TRIGGER_METHODS, type TriggerConfig } from '@faas/protocol';
import type { Logger } from '@faas/telemetry';

export interface TriggerMatch {
  readonly trigger: TriggerConfig;
  readonly params: Record<string, string>;
}

type Router = ReturnType<typeof FindMyWay>;

export class HttpTriggerTable {
  private router: Router | undefined;
  private signature = '';
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly listTriggers: () => Promise<readonly TriggerConfig[]>,
    private readonly logger: Logger,
    private readonly refreshMs: number,
  ) {}

  start(): void {
    void this.refresh();
    this.timer = setInterval(() => void this.refresh(), this.refreshMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads the triggers again; a failure keeps the table as it was (stubs may be restarting). */
  refresh(): Promise<void> {
    this.refreshing ??= this.listTriggers()
      .then((triggers) => this.install(triggers.filter((trigger) => trigger.type === 'http')))
      .catch((error: unknown) => this.logger.warn({ err: error }, 'cannot read the HTTP triggers; serving the ones known'))
      .finally(() => {
        this.refreshing = undefined;
      });
    return this.refreshing;
  }

  /** The trigger serving `method` on `host` (no port) and `path`, with its path parameters. */
  match(method: string, host: string, path: string): TriggerMatch | undefined {
    if (!this.router || !(HTTP_TRIGGER_METHODS as readonly string[]).includes(method)) return undefined;
    const found = this.router.find(method as HTTPMethod, path, { host }) ?? this.router.find(method as HTTPMethod, path);
    if (!found) return undefined;
    return { trigger: found.store as TriggerConfig, params: { ...(found.params as Record<string, string>) } };
  }

  private install(triggers: TriggerConfig[]): void {
    const signature = JSON.stringify(triggers.map((trigger) => [trigger.name, String(trigger.updatedAtMs)]));
    if (signature === this.signature) return;
    const router = FindMyWay({ ignoreTrailingSlash: true, maxParamLength: 500 });
    for (const trigger of [...triggers].sort((a, b) => a.name.localeCompare(b.name))) {
      const methods = (trigger.methods.length > 0 ? trigger.methods : HTTP_TRIGGER_METHODS) as HTTPMethod[];
      try {
        router.on(methods, trigger.path, trigger.host ? { constraints: { host: trigger.host } } : {}, () => undefined, trigger);
      } catch (error) {
        // Stubs refuses clashing triggers; two racing writes can still both land. The first by name wins.
        this.logger.warn({ trigger: trigger.name, err: error }, 'HTTP trigger clashes with another; not served');
      }
    }
    this.router = router;
    this.signature = signature;
  }
}
