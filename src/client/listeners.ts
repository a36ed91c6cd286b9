/** Callbacks registered with on...(); each registration returns the function that removes it. */
export class Listeners<Args extends unknown[]> {
  private readonly callbacks = new Set<{ readonly call: (...args: Args) => void }>();

  add(call: (...args: Args) => void): () => void {
    const entry = { call };
    this.callbacks.add(entry);
    return () => this.callbacks.delete(entry);
  }

  /** Calls each callback; one that throws is reported as an uncaught error and does not stop the others. */
  emit(...args: Args): void {
    for (const { call } of [...this.callbacks]) {
      try {
        call(...args);
      } catch (error) {
        queueMicrotask(() => {
          throw error;
        });
      }
    }
  }

  clear(): void {
    this.callbacks.clear();
  }
}
