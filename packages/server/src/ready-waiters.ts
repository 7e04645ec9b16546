/**
 * Callers waiting for an enclave to become ready (the supervisor's restarting child, or any worker of the
 * pool): each waits up to a timeout; `wake()` lets them all look again, `fail()` refuses them all.
 */
export class ReadyWaiters {
  readonly #waiters = new Set<{ resolve: (woken: boolean) => void; reject: (error: Error) => void }>();

  /** Resolves true when woken, false when `timeoutMs` passed first; rejects when failed. */
  wait(timeoutMs: number): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      const waiter = {
        resolve: (woken: boolean) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          resolve(woken);
        },
        reject: (error: Error) => {
          clearTimeout(timer);
          this.#waiters.delete(waiter);
          reject(error);
        },
      };
      const timer = setTimeout(() => waiter.resolve(false), timeoutMs);
      this.#waiters.add(waiter);
    });
  }

  wake(): void {
    for (const waiter of [...this.#waiters]) waiter.resolve(true);
  }

  fail(error: Error): void {
    for (const waiter of [...this.#waiters]) waiter.reject(error);
  }
}
