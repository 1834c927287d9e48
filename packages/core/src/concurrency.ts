/**
 * Caps how many calls run at once across independent callers (the downloads of an eager
 * load of many rows, each started by its own `afterLoad`; a `Limiter(1)` is a mutex). The
 * one concurrency primitive of attrstore: {@link runBounded} is built on it.
 */
export class Limiter {
  private active = 0
  private readonly waiting: Array<() => void> = []

  constructor(readonly limit: number) {
    if (!(Number.isInteger(limit) && limit > 0))
      throw new RangeError(`limit must be a positive integer, got ${limit}`)
  }

  /** Calls in flight now. */
  get running(): number {
    return this.active
  }

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) await new Promise<void>((resolve) => this.waiting.push(resolve))
    this.active++
    try {
      return await task()
    } finally {
      this.active--
      this.waiting.shift()?.()
    }
  }
}

/**
 * Runs `task` over `items` with at most `limit` in flight. A failure (or `signal` aborting)
 * stops tasks from starting and aborts the signal each started task is given, and the call
 * returns only once every started task has settled: nothing keeps running behind the
 * caller's back whose results (an uploaded copy, say) the caller must still see to clean
 * up. A task must pass its signal to its I/O (an SDK call's `abortSignal`), so that one
 * stuck request ends when another task fails. Rejects with the first failure, else with
 * the signal's reason if it aborted.
 */
export async function runBounded<T>(
  items: Iterable<T>,
  limit: number,
  task: (item: T, signal: AbortSignal) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  const limiter = new Limiter(limit)
  const stop = new AbortController()
  const onAbort = (): void => stop.abort(signal?.reason)
  if (signal?.aborted) onAbort()
  else signal?.addEventListener('abort', onAbort, { once: true })
  let failure: { error: unknown } | undefined
  const settled: Array<Promise<void>> = []
  try {
    for (const item of items) {
      settled.push(
        limiter.run(async () => {
          if (stop.signal.aborted) return
          try {
            await task(item, stop.signal)
          } catch (error) {
            // A task failing once the work was stopped fails because of that: not news.
            if (!stop.signal.aborted) failure = { error }
            stop.abort(error)
          }
        }),
      )
    }
    await Promise.all(settled)
  } finally {
    signal?.removeEventListener('abort', onAbort)
  }
  if (failure) throw failure.error
  signal?.throwIfAborted()
}
