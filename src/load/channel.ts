/**
 * A one-consumer queue between a load loop's callbacks and the async
 * generator that yields what they produced, in the order it finished.
 */
export class Channel<T> {
  private readonly items: T[] = [];
  private wake: (() => void) | undefined;
  private closed = false;
  private failure: { error: unknown } | undefined;

  push(item: T): void {
    this.items.push(item);
    this.wake?.();
  }

  /** No more items; with an error, the consumer throws it after the items already pushed. */
  close(error?: unknown): void {
    this.closed = true;
    if (error !== undefined) this.failure = { error };
    this.wake?.();
  }

  async *drain(): AsyncGenerator<T> {
    for (;;) {
      const next = this.items.shift();
      if (next !== undefined) {
        yield next;
        continue;
      }
      if (this.closed) break;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
    if (this.failure) throw this.failure.error;
  }
}
