/** The notice that drops every entry at once (names never take this form). */
export const DROP_ALL_NOTICE = '*';

export interface NoticeCacheOptions<V = unknown> {
  /** Longest an entry is served; 0 turns the cache off (every get loads). */
  readonly ttlMs: number;
  /** Beyond this many entries the cache starts over, so forgotten names cannot pile up. */
  readonly maxEntries?: number;
  readonly now?: () => number;
  /**
   * Reloads a name in the background when its notice arrives, so the first
   * read after a change (typically the first call after a deploy) is served
   * from memory instead of paying the round trip to the source.
   */
  readonly refresh?: (key: string) => Promise<V>;
}

interface Entry<V> {
  readonly value: V;
  readonly loadStartedMs: number;
}

/**
 * A read-through cache kept fresh by change notices (a name, or
 * DROP_ALL_NOTICE) from the data's owner, for data read far more often than
 * it changes.
 *
 * It serves entries only while notices are known to flow (`setNoticesFlowing`),
 * i.e. while a pub/sub subscription is confirmed; otherwise every read goes
 * to the source and nothing is kept. Entries also expire after `ttlMs`, which
 * bounds the damage of a connection that died without telling anyone.
 *
 * Failed loads (not found included) are never cached: a function deployed
 * right after a miss is seen at once.
 */
export class NoticeCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;
  private readonly refresh?: (key: string) => Promise<V>;
  private flowing = false;
  /**
   * Bumped by every invalidation. A load that began before one may have read
   * the old value, so its result is returned but not kept.
   */
  private epoch = 0;
  /** Names the owner is writing right now: their cached values may already be stale. */
  private readonly changing = new Map<string, number>();

  constructor(options: NoticeCacheOptions<V>) {
    this.ttlMs = options.ttlMs;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.now = options.now ?? Date.now;
    this.refresh = options.refresh;
  }

  get size(): number {
    return this.entries.size;
  }

  /**
   * The subscription was confirmed (true) or lost (false). Notices may have
   * been missed on either side of that edge, so everything goes.
   */
  setNoticesFlowing(flowing: boolean): void {
    this.flowing = flowing;
    this.dropAll();
  }

  /** Applies one change notice. */
  onNotice(notice: string): void {
    if (notice === DROP_ALL_NOTICE) return this.dropAll();
    this.drop(notice);
    if (this.refresh) this.reloadInBackground(notice, this.refresh);
  }

  drop(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  dropAll(): void {
    this.epoch++;
    this.entries.clear();
  }

  /**
   * Runs the owner's own write of `key` (DROP_ALL_NOTICE: a write that may
   * change every entry). From before the write is sent until after it
   * returns, reads of `key` go to the source and keep nothing: the
   * change notice can reach other processes (which then read through us)
   * before our own write call has returned, and they must not be answered
   * from the entry the write is replacing.
   */
  async whileChanging<T>(key: string, write: () => Promise<T>): Promise<T> {
    this.changing.set(key, (this.changing.get(key) ?? 0) + 1);
    this.onNoticeDrop(key);
    try {
      return await write();
    } finally {
      const left = (this.changing.get(key) ?? 1) - 1;
      if (left > 0) this.changing.set(key, left);
      else this.changing.delete(key);
      this.onNoticeDrop(key);
    }
  }

  private onNoticeDrop(key: string): void {
    if (key === DROP_ALL_NOTICE) this.dropAll();
    else this.drop(key);
  }

  private isChanging(key: string): boolean {
    return this.changing.has(key) || this.changing.has(DROP_ALL_NOTICE);
  }

  async get(key: string, load: () => Promise<V>): Promise<V> {
    if (!this.flowing || this.ttlMs <= 0 || this.isChanging(key)) return load();
    const startedMs = this.now();
    const hit = this.entries.get(key);
    if (hit && startedMs - hit.loadStartedMs < this.ttlMs) return hit.value;

    const epoch = this.epoch;
    const value = await load();
    this.keep(key, value, epoch, startedMs);
    return value;
  }

  /** Stores a loaded value unless a notice (or a lost subscription) came while it loaded. */
  private keep(key: string, value: V, epoch: number, loadStartedMs: number): void {
    if (!this.flowing || this.ttlMs <= 0 || epoch !== this.epoch || this.isChanging(key)) return;
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    // Aged from when the read began: the value is at least that old.
    this.entries.set(key, { value, loadStartedMs });
  }

  private reloadInBackground(key: string, load: (key: string) => Promise<V>): void {
    if (!this.flowing || this.ttlMs <= 0) return;
    const epoch = this.epoch;
    const startedMs = this.now();
    // A failed reload (deleted function, source down) keeps nothing: the next
    // read goes to the source as it would have anyway.
    load(key).then((value) => this.keep(key, value, epoch, startedMs), () => undefined);
  }
}
