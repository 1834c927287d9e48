import type { StaleWritesReport } from '@attrstore/core'
import type { DataSource } from 'typeorm'
import { type Binding, type BindingFilter, bindingLabel } from './bindings.js'
import { commandScope } from './command-scope.js'
import { InvalidOptionError } from './invalid-option.js'
import type { ProgressListener } from './progress.js'
import {
  addObject,
  checkStoreMatchesRows,
  scanStore,
  tally,
  tallyObject,
  type Tally,
} from './store-scan.js'

export const DEFAULT_GRACE_MS = 24 * 60 * 60 * 1000

export interface CollectGarbageOptions extends BindingFilter {
  /** The registered stored attributes; default: those of the DataSource. */
  bindings?: readonly Binding[] | undefined
  /**
   * Unreferenced objects younger than this are kept: their row may not be committed yet.
   * Default 24 h. Also the age past which leftovers of interrupted writes are stale.
   */
  graceMs?: number | undefined
  /** Really delete. Default false: a dry run that only counts. */
  delete?: boolean | undefined
  /** Objects listed per batch of reference queries (memory holds one batch). Default 1000. */
  batchSize?: number | undefined
  /** Stops after the current batch; what was deleted so far stays deleted, nothing else is touched. */
  signal?: AbortSignal | undefined
  onProgress?: ProgressListener | undefined
  /** Called for every orphan found (deleted or, in a dry run, that would be). */
  onOrphan?: (orphan: {
    store: string
    key: string
    size: number
    lastModified: Date | undefined
    deleted: boolean
  }) => void
  /**
   * Delete orphans even from storages whose `autoDelete` is false (they keep superseded
   * objects on purpose, e.g. a retention policy). Default false: such stores are only counted.
   */
  ignoreAutoDelete?: boolean | undefined
  /** Clock, for tests. */
  now?: (() => number) | undefined
}

export interface StoreGarbageReport {
  /** The store: its location, or its class name when it has none. */
  store: string
  /** Every stored attribute whose rows were checked for references to this store. */
  users: string[]
  listed: Tally
  referenced: Tally
  /** Unreferenced and older than the grace period. */
  orphans: Tally
  /** Orphans deleted (0 in a dry run). */
  deleted: Tally
  /** Unreferenced but within the grace period: kept. */
  recent: Tally
  /** Unreferenced, with no modification date from the storage: kept. */
  undated: Tally
  /**
   * What the store's `cleanStaleWrites` found and removed of interrupted writes older than
   * the grace period (temporary files, multipart uploads...; nothing removed in a dry
   * run); absent when the storage has no such clean-up.
   */
  staleWrites?: StaleWritesReport
  /** The store keeps superseded objects on purpose (`autoDelete: false`): counted, not deleted. */
  keptByPolicy?: true
  /** False when stopped before the end of the listing. */
  complete: boolean
}

export interface GarbageReport {
  dryRun: boolean
  graceMs: number
  stores: StoreGarbageReport[]
  /** False when stopped by the signal. */
  complete: boolean
}

/**
 * The garbage collector: lists every object of each store, asks the database which ones
 * rows reference (every stored attribute using the store, soft-deleted rows included),
 * and deletes the unreferenced ones older than the grace period. Also has each store's
 * `cleanStaleWrites`, where it has one, remove what interrupted writes left behind.
 *
 * Dry run by default. Safety rules: an object is deleted only when it was listed, no row
 * of any user of its store references it, and the storage dates it before the grace
 * cut-off computed when the run started (undated objects are kept); stores whose
 * locations nest, or whose sampled references do not match the listing, are refused.
 */
export async function collectGarbage(
  dataSource: DataSource,
  options: CollectGarbageOptions = {},
): Promise<GarbageReport> {
  const { groups, rows } = commandScope(dataSource, options)
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS
  if (!(Number.isFinite(graceMs) && graceMs >= 0))
    throw new InvalidOptionError(`graceMs must be >= 0, got ${graceMs}`)
  const dryRun = options.delete !== true
  const cutoff = (options.now ?? Date.now)() - graceMs
  const report: GarbageReport = { dryRun, graceMs, stores: [], complete: true }

  for (const group of groups) {
    if (options.signal?.aborted) {
      report.complete = false
      break
    }
    const keptByPolicy =
      !options.ignoreAutoDelete && group.storages.some((storage) => storage.autoDelete === false)
    const countOnly = dryRun || keptByPolicy
    if (!countOnly) await checkStoreMatchesRows(rows, group)
    const store: StoreGarbageReport = {
      ...(keptByPolicy ? { keptByPolicy: true as const } : {}),
      store: group.label,
      users: group.users.map(bindingLabel),
      listed: tally(),
      referenced: tally(),
      orphans: tally(),
      deleted: tally(),
      recent: tally(),
      undated: tally(),
      complete: false,
    }
    report.stores.push(store)
    store.complete = await scanStore(
      rows,
      group,
      { command: 'gc', settings: options },
      async ({ objects, referenced }) => {
        const doomed = new Set<string>()
        for (const object of objects) {
          addObject(store.listed, object.size)
          const state = tallyObject(store, object, referenced.has(object.key), cutoff)
          if (state === 'orphan') doomed.add(object.key)
        }
        if (!countOnly && doomed.size) await group.storage.deleteMany(doomed)
        for (const object of objects) {
          if (!doomed.has(object.key)) continue
          if (!countOnly) addObject(store.deleted, object.size)
          options.onOrphan?.({
            store: group.label,
            key: object.key,
            size: object.size,
            lastModified: object.lastModified,
            deleted: !countOnly,
          })
        }
      },
    )
    if (!store.complete) {
      report.complete = false
      break
    }
    // Storages of one store address the same leftovers: one clean-up is enough.
    const cleaner = group.storages.find((storage) => storage.cleanStaleWrites)
    if (cleaner?.cleanStaleWrites) {
      store.staleWrites = await cleaner.cleanStaleWrites({ olderThanMs: graceMs, dryRun })
    }
  }
  return report
}
