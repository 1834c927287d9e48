import type { DataSource } from 'typeorm'
import { type Binding, type BindingFilter, type StorageGroup, selectStores } from './bindings.js'
import { TypeOrmRowSource } from './typeorm-row-source.js'

/** What gc, stat and verify work on. */
export interface CommandScope {
  /** Every registered stored attribute. */
  all: Binding[]
  /** The ones the entity/attribute filter selects (all of them without a filter). */
  selected: Binding[]
  /** The stores holding the selected ones. */
  groups: StorageGroup[]
  /** The DataSource's rows, where the keys are. */
  rows: TypeOrmRowSource
}

/** The stored attributes and stores a command's filter selects, and the rows to read their keys from. */
export function commandScope(
  dataSource: DataSource,
  options: BindingFilter & { bindings?: readonly Binding[] | undefined },
): CommandScope {
  return { ...selectStores(dataSource, options), rows: new TypeOrmRowSource(dataSource) }
}
