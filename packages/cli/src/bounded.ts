/**
 * Runs `task` over `items` with at most `limit` in flight, and returns only once every
 * started task has settled: unlike `runBounded` of `@attrstore/core`, a failure stops new
 * tasks from starting but never leaves others running behind the caller's back (whose
 * results, an uploaded copy say, the caller must still see to clean up). Rejects with the
 * first failure.
 */
export async function settleBounded<T>(
  items: readonly T[],
  limit: number,
  task: (item: T) => Promise<unknown>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0
  let failure: { error: unknown } | undefined
  const worker = async (): Promise<void> => {
    while (next < items.length && !failure && !signal?.aborted) {
      const item = items[next++] as T
      try {
        await task(item)
      } catch (error) {
        failure ??= { error }
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker))
  if (failure) throw failure.error
  signal?.throwIfAborted()
}
