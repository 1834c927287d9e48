import type { StaleWritesOptions } from './contract.js'
import { ConfigurationError } from './errors.js'

/**
 * The cut-off of a `AttributeStorage.cleanStaleWrites` run: leftovers dated at or
 * before it are stale. Refuses an `olderThanMs` that is no duration >= 0 (negative, NaN,
 * infinite) with a `ConfigurationError`, as every storage must.
 */
export function staleWritesCutoff(options: StaleWritesOptions, now: number = Date.now()): number {
  const { olderThanMs } = options
  if (typeof olderThanMs !== 'number' || !(Number.isFinite(olderThanMs) && olderThanMs >= 0)) {
    throw new ConfigurationError(`olderThanMs must be a duration >= 0, got ${String(olderThanMs)}`)
  }
  return now - olderThanMs
}
