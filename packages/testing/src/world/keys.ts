/** What a storage holds against what the rows reference: the "loses no data" checks. */
import type { AttributeStorage } from '@attrstore/core'
import { storageBindings } from '@attrstore/typeorm'
import type { DataSource } from 'typeorm'

/** Every key in a storage, sorted. */
export async function storedKeys(storage: AttributeStorage): Promise<string[]> {
  const keys: string[] = []
  for await (const { key } of storage.list()) keys.push(key)
  return keys.sort()
}

/**
 * Every key that rows (soft-deleted ones included) reference in `storage`, through the
 * stored attributes registered on `dataSource` with `setStorage`; sorted, without repeats.
 */
export async function referencedKeys(
  dataSource: DataSource,
  storage: AttributeStorage,
): Promise<string[]> {
  const keys = new Set<string>()
  for (const binding of storageBindings(dataSource)) {
    if (binding.storage !== storage) continue
    const rows = await dataSource
      .createQueryBuilder(binding.metadata.target, 'row')
      .withDeleted()
      .select(`row.${binding.column.propertyPath}`, 'key')
      .getRawMany<{ key: string | null }>()
    for (const { key } of rows) if (key !== null) keys.add(key)
  }
  return [...keys].sort()
}

/** Where a storage and the rows disagree; both empty when the storage holds exactly what rows reference. */
export interface KeyDifference {
  /** Objects no row references (left for garbage collection). */
  orphaned: string[]
  /** Keys rows reference whose object is missing (lost data). */
  missing: string[]
}

/** Compares what `storage` holds with what the rows of `dataSource` reference in it. */
export async function keyDifference(
  dataSource: DataSource,
  storage: AttributeStorage,
): Promise<KeyDifference> {
  const stored = await storedKeys(storage)
  const referenced = await referencedKeys(dataSource, storage)
  return {
    orphaned: stored.filter((key) => !referenced.includes(key)),
    missing: referenced.filter((key) => !stored.includes(key)),
  }
}
