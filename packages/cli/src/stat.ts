import type { DataSource } from 'typeorm'
import type { Binding, BindingFilter } from './bindings.js'
import { commandScope } from './command-scope.js'
import { DEFAULT_GRACE_MS } from './gc.js'
import type { ProgressListener } from './progress.js'
import { addObject, scanStore, tally, tallyObject, type Tally } from './store-scan.js'

export interface StatisticsOptions extends BindingFilter {
  bindings?: readonly Binding[] | undefined
  /** Unreferenced objects younger than this are counted as recent, not orphans. Default 24 h. */
  graceMs?: number | undefined
  /** Objects listed per batch of reference queries. Default 1000. */
  batchSize?: number | undefined
  signal?: AbortSignal | undefined
  onProgress?: ProgressListener | undefined
  now?: (() => number) | undefined
}

export interface AttributeStatistics {
  entity: string
  attribute: string
  store: string
  /** Rows of the entity, soft-deleted ones included. */
  rows: number
  /** Rows whose attribute is not null. */
  withKey: number
  /** Distinct keys in the column. */
  keys: number
  /** Objects of the store that rows of this attribute reference. */
  objects: number
  /** Their bytes. */
  bytes: number
  /** Distinct keys whose object is missing from the store. */
  missing: number
}

export interface StoreStatistics {
  store: string
  objects: Tally
  referenced: Tally
  /** Unreferenced and older than the grace period: what `gc` would delete. */
  orphans: Tally
  /** Unreferenced but within the grace period. */
  recent: Tally
  /** Unreferenced, undated. */
  undated: Tally
}

export interface Statistics {
  graceMs: number
  attributes: AttributeStatistics[]
  stores: StoreStatistics[]
  complete: boolean
}

/** Per stored attribute: rows, objects, bytes, missing; per store: objects and orphans. */
export async function statistics(
  dataSource: DataSource,
  options: StatisticsOptions = {},
): Promise<Statistics> {
  const { selected, groups, rows } = commandScope(dataSource, options)
  const graceMs = options.graceMs ?? DEFAULT_GRACE_MS
  const cutoff = (options.now ?? Date.now)() - graceMs
  const result: Statistics = { graceMs, attributes: [], stores: [], complete: true }

  for (const group of groups) {
    const perUser = group.users.map((user) => ({ user, objects: 0, bytes: 0 }))
    const store: StoreStatistics = {
      store: group.label,
      objects: tally(),
      referenced: tally(),
      orphans: tally(),
      recent: tally(),
      undated: tally(),
    }
    const complete = await scanStore(
      rows,
      group,
      { command: 'stat', settings: options, perUser: true },
      ({ objects, referenced, byUser }) => {
        for (const object of objects) {
          addObject(store.objects, object.size)
          tallyObject(store, object, referenced.has(object.key), cutoff)
          byUser.forEach((keys, i) => {
            if (!keys.has(object.key)) return
            perUser[i]!.objects++
            perUser[i]!.bytes += object.size
          })
        }
      },
    )
    if (!complete) {
      result.complete = false
      break
    }
    result.stores.push(store)
    for (const { user, objects, bytes } of perUser) {
      if (!selected.includes(user)) continue
      const withKey = await rows.count(user, [{ column: user.column.databaseName, is: 'not null' }])
      const keys = await rows.countKeys(user)
      result.attributes.push({
        entity: user.metadata.name,
        attribute: user.column.propertyPath,
        store: group.label,
        rows: await rows.count(user),
        withKey,
        keys,
        objects,
        bytes,
        missing: Math.max(0, keys - objects),
      })
    }
  }
  result.attributes.sort((a, b) => bindingLabelOf(a).localeCompare(bindingLabelOf(b)))
  return result
}

function bindingLabelOf(stat: AttributeStatistics): string {
  return `${stat.entity}.${stat.attribute}`
}
