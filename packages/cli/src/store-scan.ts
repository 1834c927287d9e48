import { ConfigurationError, type ListedObject } from '@attrstore/core'
import { assertValidPrefix } from '@attrstore/core/driver'
import { bindingLabel, type StorageGroup } from './bindings.js'
import type { ProgressListener } from './progress.js'
import type { RowSource } from './row-source.js'

/** What an object of a store is, for gc and stat. */
export type ObjectState =
  /** A row (soft-deleted ones included) references it. */
  | 'referenced'
  /** Unreferenced and older than the grace period: garbage. */
  | 'orphan'
  /** Unreferenced but younger than the grace period: maybe an upload whose row is not committed yet. */
  | 'recent'
  /** Unreferenced, and the storage does not tell its age: never collected. */
  | 'undated'

export function classify(object: ListedObject, referenced: boolean, cutoff: number): ObjectState {
  if (referenced) return 'referenced'
  if (!object.lastModified) return 'undated'
  return object.lastModified.getTime() <= cutoff ? 'orphan' : 'recent'
}

/** How many objects, and their bytes. */
export interface Tally {
  count: number
  bytes: number
}

export const tally = (): Tally => ({ count: 0, bytes: 0 })

/** Counts one object of `bytes` into `into`. */
export function addObject(into: Tally, bytes: number): void {
  into.count++
  into.bytes += bytes
}

/** The tally each state of an object is counted in, in the reports of gc and stat. */
const STATE_TALLY = {
  referenced: 'referenced',
  orphan: 'orphans',
  recent: 'recent',
  undated: 'undated',
} as const satisfies Record<ObjectState, string>

/** The tallies of a store's objects by state. */
export type StateTallies = Record<(typeof STATE_TALLY)[ObjectState], Tally>

/** Classifies `object` (see {@link classify}) and counts it in the tally of its state. */
export function tallyObject(
  tallies: StateTallies,
  object: ListedObject,
  referenced: boolean,
  cutoff: number,
): ObjectState {
  const state = classify(object, referenced, cutoff)
  addObject(tallies[STATE_TALLY[state]], object.size)
  return state
}

/** What gc and stat pass on from their options to every store they scan. */
export interface ScanSettings {
  /** Objects listed per batch of reference queries. Default 1000. */
  batchSize?: number | undefined
  /** Stop between batches. */
  signal?: AbortSignal | undefined
  onProgress?: ProgressListener | undefined
}

/** One command's scan of a store. */
export interface ScanOptions {
  /** The command scanning: with the store, it names the progress task (`gc <store>`). */
  command: 'gc' | 'stat'
  settings: ScanSettings
  /** Also tell which user references each object (stat), instead of stopping at the first. */
  perUser?: boolean
}

/** One batch of listed objects with what references them. */
export interface ScannedBatch {
  objects: ListedObject[]
  /** Keys of `objects` referenced by any user of the store. */
  referenced: Set<string>
  /** With `perUser`: for each user of the store (same order), the keys it references. */
  byUser: Set<string>[]
}

/**
 * Lists a store once, streaming, and asks the database which listed keys are referenced,
 * one batch at a time: memory holds one batch of keys, never the set of every referenced
 * key, so a table of any size is fine. Returns false when stopped by `signal`.
 */
export async function scanStore(
  rows: RowSource,
  group: StorageGroup,
  options: ScanOptions,
  visit: (batch: ScannedBatch) => Promise<void> | void,
): Promise<boolean> {
  const { signal, onProgress } = options.settings
  const batchSize = options.settings.batchSize ?? 1000
  const task = `${options.command} ${group.label}`
  // Expected total, for the ETA: distinct referenced keys (objects >= that, give or take
  // orphans). A scan of every row: only when someone shows progress.
  let total = 0
  if (onProgress) for (const user of group.users) total += await rows.countKeys(user)
  let done = 0
  let bytes = 0
  let batch: ListedObject[] = []
  const flush = async (): Promise<void> => {
    const keys = batch.map((object) => object.key)
    let referenced: Set<string>
    const byUser: Set<string>[] = []
    if (options.perUser) {
      referenced = new Set()
      for (const user of group.users) {
        const found = await rows.referencedBy(user, keys)
        byUser.push(found)
        for (const key of found) referenced.add(key)
      }
    } else {
      referenced = await rows.referencedByAny(group.users, keys)
    }
    await visit({ objects: batch, referenced, byUser })
    done += batch.length
    for (const object of batch) bytes += object.size
    batch = []
    onProgress?.({ task, unit: 'objects', done, total: Math.max(total, done), bytes })
  }
  onProgress?.({ task, unit: 'objects', done: 0, total, bytes: 0 })
  for await (const object of group.storage.list()) {
    batch.push(object)
    if (batch.length >= batchSize) {
      await flush()
      if (signal?.aborted) {
        onProgress?.({ task, unit: 'objects', done, bytes, finished: true })
        return false
      }
    }
  }
  if (batch.length) await flush()
  onProgress?.({ task, unit: 'objects', done, total: done, bytes, finished: true })
  return true
}

/** Prefixes to list to find `reference` again: itself, its key part, its directory. */
function listingPrefix(reference: string): string | undefined {
  const candidates = [reference]
  const doubleSlash = reference.indexOf('//')
  if (doubleSlash > 0) candidates.push(reference.slice(0, doubleSlash))
  const slash = reference.lastIndexOf('/')
  if (slash > 0) candidates.push(reference.slice(0, slash + 1))
  for (const candidate of candidates) {
    try {
      return assertValidPrefix(candidate)
    } catch {
      // next candidate
    }
  }
  return undefined
}

/**
 * Before deleting anything from a store, checks on a sample of rows that the configuration
 * and the data agree: the sampled references must exist in the store, and its listing
 * must name them exactly as the rows do. Otherwise (wrong bucket or root, references that
 * are not listing keys) every object would look unreferenced: refuse rather than guess.
 */
export async function checkStoreMatchesRows(
  rows: RowSource,
  group: StorageGroup,
  sampleSize = 5,
): Promise<void> {
  let sampled = 0
  let present = 0
  for (const user of group.users) {
    const pages = rows.pages({
      attribute: user,
      where: [{ column: user.column.databaseName, is: 'not null' }],
      batchSize: sampleSize,
    })
    const first = await pages.next()
    await pages.return(undefined)
    for (const row of first.done ? [] : first.value) {
      const reference = row.key
      if (reference === null) continue
      sampled++
      if (!(await group.storage.exists(reference))) continue
      present++
      const prefix = listingPrefix(reference)
      if (prefix === undefined) continue
      let listed = false
      let seen = 0
      for await (const object of group.storage.list(prefix)) {
        if (object.key === reference) {
          listed = true
          break
        }
        if (++seen > 10_000) break
      }
      if (!listed && seen <= 10_000) {
        throw new ConfigurationError(
          `${bindingLabel(user)} references ${JSON.stringify(reference)}, which exists in ${group.label} but is not ` +
            'listed under that key: the listing and the references do not name objects alike, so gc cannot tell ' +
            'orphans from referenced objects. Nothing was deleted.',
        )
      }
    }
  }
  if (sampled > 0 && present === 0) {
    throw new ConfigurationError(
      `None of the ${sampled} references sampled from the rows exists in ${group.label}: is this the right storage ` +
        '(bucket, prefix, root)? Run `attrstore verify` first. Nothing was deleted.',
    )
  }
}
