import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import { storageBindings } from '@attrstore/typeorm'
import type { DataSource, EntityMetadata } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'

/** One stored attribute and the storage `setStorage` registered for it. */
export interface Binding {
  metadata: EntityMetadata
  column: ColumnMetadata
  storage: AttributeStorage
}

/** Selects stored attributes by entity (class, table or target name) and attribute (property path). */
export interface BindingFilter {
  entity?: string | undefined
  attribute?: string | undefined
}

/** `Document.body` */
export function bindingLabel(binding: Pick<Binding, 'metadata' | 'column'>): string {
  return `${binding.metadata.name}.${binding.column.propertyPath}`
}

/**
 * The registered stored attributes of a DataSource: `given` when the caller has them (the
 * data source loader finds them through the application's own copy of
 * `@attrstore/typeorm`), else those of this package's copy.
 */
export function resolveBindings(dataSource: DataSource, given?: readonly Binding[]): Binding[] {
  const found = [...(given ?? storageBindings(dataSource))]
  if (!found.length) {
    throw new ConfigurationError(
      'No stored attribute of this DataSource has a storage: the data source module must call ' +
        'setStorage(dataSource, Entity, "attribute", storage) (or export configureStorages(dataSource) that does).',
    )
  }
  return found
}

/**
 * The registered stored attributes (`all`), the ones an entity/attribute filter selects
 * (`selected`: all of them without a filter), and the stores holding the selected ones.
 */
export function selectStores(
  dataSource: DataSource,
  options: BindingFilter & { bindings?: readonly Binding[] | undefined },
): { all: Binding[]; selected: Binding[]; groups: StorageGroup[] } {
  const all = resolveBindings(dataSource, options.bindings)
  const selected = options.entity || options.attribute ? selectBindings(all, options) : all
  // Stores keep every user: an object is an orphan only if no attribute sharing it holds it.
  const groups = groupByStorage(all).filter((group) =>
    group.users.some((user) => selected.includes(user)),
  )
  return { all, selected, groups }
}

export function matchesEntity(metadata: EntityMetadata, name: string): boolean {
  return metadata.name === name || metadata.tableName === name || metadata.targetName === name
}

/** The bindings a filter selects; a filter that selects nothing is an error, never "all". */
export function selectBindings(all: readonly Binding[], filter: BindingFilter = {}): Binding[] {
  const selected = all.filter(
    (binding) =>
      (filter.entity === undefined || matchesEntity(binding.metadata, filter.entity)) &&
      (filter.attribute === undefined || binding.column.propertyPath === filter.attribute),
  )
  if (!selected.length) {
    const wanted = [filter.entity, filter.attribute].filter(Boolean).join('.')
    throw new ConfigurationError(
      `No stored attribute matches ${JSON.stringify(wanted)}; registered: ${all.map(bindingLabel).join(', ')}`,
    )
  }
  return selected
}

/**
 * Where a storage keeps its objects: its `location` (part of the contract:
 * `file:///var/lib/files`, an S3 URL...; `instance:<uuid>` for storages that address
 * objects of their own), ending with "/" so that nesting is a prefix test. Two storage
 * objects with the same location are the same store.
 */
export function storageLocation(storage: AttributeStorage): string {
  const { location } = storage
  if (typeof location !== 'string' || location === '') {
    throw new ConfigurationError(
      `${storage.constructor?.name ?? 'A storage'} has no location: AttributeStorage.location is ` +
        'required (BaseStorage gives every instance one)',
    )
  }
  return `${location.replace(/\/+$/, '')}/`
}

/** Every stored attribute whose objects live in one store: what gc and stat work on. */
export interface StorageGroup {
  /** The location, or a name made from the storage's class for `instance:` locations. */
  label: string
  /** The storage listed and deleted from. */
  storage: AttributeStorage
  /** Every distinct storage object of this store (several objects may share a location). */
  storages: AttributeStorage[]
  /** Every stored attribute using the store: where its keys may be referenced. */
  users: Binding[]
}

/**
 * Groups bindings by store. Storages with the same location are one store; storages whose
 * locations nest (one root or prefix inside another) are refused: the outer one's listing
 * would show the inner one's objects, and its own files, under other names.
 */
export function groupByStorage(bindings: readonly Binding[]): StorageGroup[] {
  const groups = new Map<string, StorageGroup>()
  const anonymous = new Map<string, number>()
  for (const binding of bindings) {
    const location = storageLocation(binding.storage)
    let group = groups.get(location)
    if (!group) {
      let label = location.startsWith('instance:') ? undefined : location
      if (label === undefined) {
        const kind = binding.storage.constructor?.name ?? 'storage'
        const count = (anonymous.get(kind) ?? 0) + 1
        anonymous.set(kind, count)
        label = count === 1 ? kind : `${kind}#${count}`
      }
      group = { label, storage: binding.storage, storages: [], users: [] }
      groups.set(location, group)
    }
    if (!group.storages.includes(binding.storage)) group.storages.push(binding.storage)
    group.users.push(binding)
  }
  const located = [...groups.keys()]
  for (const outer of located) {
    for (const inner of located) {
      if (inner !== outer && inner.startsWith(outer)) {
        throw new ConfigurationError(
          `Storage locations nest: ${inner} is inside ${outer}. Listing ${outer} would show the objects ` +
            `of ${inner} under other keys, so garbage collection cannot tell what is referenced. ` +
            'Give each storage its own root or prefix, side by side.',
        )
      }
    }
  }
  return [...groups.values()]
}

/** Whether two storages are the same store (same object or same location). */
export function sameStore(a: AttributeStorage, b: AttributeStorage): boolean {
  return a === b || storageLocation(a) === storageLocation(b)
}
