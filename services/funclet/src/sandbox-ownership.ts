/**
 * Which controller places calls on each sandbox (docs/design.md "Many
 * controllers"). A controller owns the sandboxes it made; when its Attach
 * stream ends they are nobody's until another controller claims them, and
 * the funclet grants each claim to the first that asks. So however many
 * controllers run, each sandbox has at most one placing calls on it, and
 * the funclet, which admits the calls, holds the truth.
 */

export interface Ownership {
  /** The owning controller's id; '' while nobody owns the sandbox. */
  readonly owner: string;
  /** The function's concurrency reservation the sandbox holds, passed on to whoever claims it. */
  readonly reservation: string;
  /** Since when nobody owns it (ms since epoch); undefined while owned. */
  readonly unownedSinceMs: number | undefined;
}

interface Record {
  owner: string;
  readonly reservation: string;
  unownedSinceMs: number | undefined;
}

export class SandboxOwnership {
  private readonly records = new Map<string, Record>();
  /** Attach streams open per controller id (a reconnect may overlap the old stream's end). */
  private readonly attached = new Map<string, number>();
  private readonly listeners: Array<() => void> = [];

  constructor(private readonly now: () => number = Date.now) {}

  /** A new sandbox, owned by the controller that asked for it; nobody's when that controller is not attached (any more). */
  add(sandboxId: string, owner: string, reservation: string): void {
    const owned = owner !== '' && this.attached.has(owner);
    this.records.set(sandboxId, { owner: owned ? owner : '', reservation, unownedSinceMs: owned ? undefined : this.now() });
    this.changed();
  }

  remove(sandboxId: string): void {
    if (this.records.delete(sandboxId)) this.changed();
  }

  of(sandboxId: string): Ownership | undefined {
    return this.records.get(sandboxId);
  }

  /** A controller's stream opened. */
  attach(controllerId: string): void {
    this.attached.set(controllerId, (this.attached.get(controllerId) ?? 0) + 1);
  }

  /** A controller's stream ended: once its last one has, its sandboxes are nobody's. */
  detach(controllerId: string): void {
    const open = (this.attached.get(controllerId) ?? 0) - 1;
    if (open > 0) {
      this.attached.set(controllerId, open);
      return;
    }
    this.attached.delete(controllerId);
    const now = this.now();
    let released = false;
    for (const record of this.records.values()) {
      if (record.owner !== controllerId) continue;
      record.owner = '';
      record.unownedSinceMs = now;
      released = true;
    }
    if (released) this.changed();
  }

  /** Grants the sandbox to `controllerId` when nobody owns it; true when it is (now) that controller's. */
  claim(sandboxId: string, controllerId: string): boolean {
    const record = this.records.get(sandboxId);
    if (!record || !this.attached.has(controllerId)) return false;
    if (record.owner === controllerId) return true;
    if (record.owner !== '') return false;
    record.owner = controllerId;
    record.unownedSinceMs = undefined;
    this.changed();
    return true;
  }

  /** Sandboxes nobody has owned for at least `ms`. */
  unownedFor(ms: number): string[] {
    const cutoff = this.now() - ms;
    return [...this.records].filter(([, record]) => record.unownedSinceMs !== undefined && record.unownedSinceMs <= cutoff).map(([id]) => id);
  }

  /** Called after every change of the set or of an owner (not of calls in flight). */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  private changed(): void {
    for (const listener of this.listeners) listener();
  }
}
