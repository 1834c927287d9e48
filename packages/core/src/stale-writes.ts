import type { StaleWritesOptions, StaleWritesReport } from './contract.js'
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

/**
 * The report a `AttributeStorage.cleanStaleWrites` run of leftovers of `kind` starts from:
 * supported, nothing found yet; with `countsBytes`, it also counts the bytes it removes.
 */
export function emptyStaleWritesReport(kind: string): StaleWritesReport
export function emptyStaleWritesReport(
  kind: string,
  options: { countsBytes: true },
): StaleWritesReport & { bytes: number }
export function emptyStaleWritesReport(
  kind: string,
  options: { countsBytes?: boolean } = {},
): StaleWritesReport {
  return {
    kind,
    supported: true,
    found: 0,
    removed: 0,
    kept: 0,
    failed: 0,
    ...(options.countsBytes ? { bytes: 0 } : {}),
  }
}
