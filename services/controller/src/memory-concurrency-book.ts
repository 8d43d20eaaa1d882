import { randomUUID } from 'node:crypto';
import type { ConcurrencyBook, KeptReservation, Reservation } from './concurrency-book.js';

/**
 * The concurrency book's rules over a map, for unit tests (several
 * placements sharing one stand for several controllers sharing Redis);
 * concurrency-book tests hold the Redis scripts to the same answers.
 */
export class MemoryConcurrencyBook implements ConcurrencyBook {
  private readonly sets = new Map<string, Map<string, { slots: number; lapsesAtMs: number }>>();

  constructor(
    private readonly ttlMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  async reserve(functionName: string, max: number, want: number): Promise<Reservation> {
    const set = this.live(functionName);
    const heldBefore = sum(set);
    const slots = Math.max(0, Math.min(want, max - heldBefore));
    if (slots === 0) return { id: '', slots: 0, heldBefore };
    const id = randomUUID();
    set.set(id, { slots, lapsesAtMs: this.now() + this.ttlMs });
    return { id, slots, heldBefore };
  }

  async keep(reservations: readonly KeptReservation[]): Promise<Set<string>> {
    const lost = new Set<string>();
    for (const reservation of reservations) {
      const set = this.live(reservation.functionName);
      const entry = set.get(reservation.id);
      if (entry && entry.slots === reservation.slots) entry.lapsesAtMs = this.now() + this.ttlMs;
      else if (sum(set) + reservation.slots <= reservation.maxConcurrency) set.set(reservation.id, { slots: reservation.slots, lapsesAtMs: this.now() + this.ttlMs });
      else lost.add(reservation.id);
    }
    return lost;
  }

  async release(functionName: string, id: string): Promise<void> {
    this.sets.get(functionName)?.delete(id);
  }

  async held(functionName: string): Promise<number> {
    return sum(this.live(functionName));
  }

  private live(functionName: string): Map<string, { slots: number; lapsesAtMs: number }> {
    let set = this.sets.get(functionName);
    if (!set) this.sets.set(functionName, (set = new Map()));
    const now = this.now();
    for (const [id, entry] of set) if (entry.lapsesAtMs <= now) set.delete(id);
    return set;
  }
}

function sum(set: Map<string, { slots: number }>): number {
  let total = 0;
  for (const entry of set.values()) total += entry.slots;
  return total;
}
