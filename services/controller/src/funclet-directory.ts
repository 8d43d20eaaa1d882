/**
 * The funclets this controller can place on: those with an Attach stream
 * open, as their latest report describes them. Held in memory, so a
 * placement reads no Redis; every replica keeps its own, from the same
 * funclets' reports.
 */
import type { FuncletInfo } from './funclet-port.js';

/** One funclet's stream, identified by the object itself (a reconnect opens a new one before the old one's end is seen). */
export type Attachment = object;

interface Entry {
  info: FuncletInfo;
  readonly attachment: Attachment;
  /** A silence longer than this means the funclet is gone, though its stream did not say so. */
  staleAfterMs: number;
}

/** Missed reports before a silent funclet is taken for gone. */
const REPORTS_MISSED = 2;
/** Slack on top, for a busy event loop on either side. */
const SILENCE_SLACK_MS = 1_000;

export class FuncletDirectory {
  private readonly entries = new Map<string, Entry>();
  private listing: FuncletInfo[] | undefined;

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * A report on `attachment`: the funclet as it now is. Returns the
   * previous description when the same funclet id came back another way
   * (a new boot, or a new address), whose sandboxes are then gone.
   */
  report(attachment: Attachment, funclet: Omit<FuncletInfo, 'seenAtMs'>, reportIntervalMs: number): { info: FuncletInfo; replaced?: FuncletInfo } {
    const info: FuncletInfo = { ...funclet, seenAtMs: this.now() };
    const previous = this.entries.get(info.id);
    this.entries.set(info.id, { info, attachment, staleAfterMs: REPORTS_MISSED * Math.max(1, reportIntervalMs) + SILENCE_SLACK_MS });
    this.listing = undefined;
    const replaced = previous && (previous.info.bootId !== info.bootId || previous.info.address !== info.address) ? previous.info : undefined;
    return { info, replaced };
  }

  /** The stream ended; true when it was the funclet's current one (an older stream's end changes nothing). */
  detach(funcletId: string, attachment: Attachment): boolean {
    const entry = this.entries.get(funcletId);
    if (!entry || entry.attachment !== attachment) return false;
    this.entries.delete(funcletId);
    this.listing = undefined;
    return true;
  }

  /** Funclets whose reports stopped without their stream ending (a host that froze or lost its network); dropped. */
  dropSilent(): FuncletInfo[] {
    const now = this.now();
    const silent = [...this.entries.values()].filter((entry) => now - entry.info.seenAtMs > entry.staleAfterMs).map((entry) => entry.info);
    for (const info of silent) this.entries.delete(info.id);
    if (silent.length > 0) this.listing = undefined;
    return silent;
  }

  get(funcletId: string): FuncletInfo | undefined {
    return this.entries.get(funcletId)?.info;
  }

  /** The attached funclets, sorted by id (a stable order for ties). */
  live(): FuncletInfo[] {
    this.listing ??= [...this.entries.values()].map((entry) => entry.info).sort((a, b) => a.id.localeCompare(b.id));
    return this.listing;
  }

  get size(): number {
    return this.entries.size;
  }
}
