/**
 * Gathers what is sent on a stream within one turn of the event loop into
 * one message: under load, the calls read from many sockets in one poll
 * phase leave as one gRPC message and one HTTP/2 frame instead of dozens;
 * alone, a call waits only until the end of the current turn
 * (setImmediate). Honours back-pressure: while the stream refuses more
 * (write() answered false), items keep gathering until it drains.
 */
export class Coalescer<Batch> {
  private batch: Batch | undefined;
  private items = 0;
  private scheduled = false;
  private blocked = false;

  /**
   * @param open  a new, empty batch
   * @param write sends a batch; false when the stream's buffer is full
   * @param onDrain calls its argument once when the stream can take more
   */
  constructor(
    private readonly open: () => Batch,
    private readonly write: (batch: Batch) => boolean,
    private readonly onDrain: (resume: () => void) => void,
  ) {}

  /** Adds to the batch that leaves at the end of this turn (or when the stream drains). */
  add(fill: (batch: Batch) => void): void {
    this.batch ??= this.open();
    fill(this.batch);
    this.items += 1;
    this.schedule();
  }

  /** Items waiting to be sent: a congested peer shows here first. */
  get waiting(): number {
    return this.items;
  }

  /** Drops what has not been sent (the stream is gone). */
  clear(): void {
    this.batch = undefined;
    this.items = 0;
  }

  private schedule(): void {
    if (this.scheduled || this.blocked) return;
    this.scheduled = true;
    setImmediate(this.flush);
  }

  private readonly flush = (): void => {
    this.scheduled = false;
    const batch = this.batch;
    if (batch === undefined) return;
    this.batch = undefined;
    this.items = 0;
    if (this.write(batch)) return;
    this.blocked = true;
    this.onDrain(() => {
      this.blocked = false;
      if (this.batch !== undefined) this.schedule();
    });
  };
}
