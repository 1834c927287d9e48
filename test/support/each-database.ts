/**
 * Describe blocks run once per database kind (SQLite, PostgreSQL), each test in a fresh
 * world with storages of one kind: the set-up of the focused TypeORM tests
 * (unit-of-work paths and regressions, object locks, versioned references).
 */
import { describe } from 'vitest'
import type { DatabaseKind, StorageKind } from './environment.js'
import { useWorldPerTest, type WorldContext } from './world-per-test.js'

export type { WorldContext } from './world-per-test.js'

/** Runs `body` once per database kind, each test in a fresh world with storages of one kind (fs by default). */
export function describeOnEachDatabase(
  title: string,
  body: (context: WorldContext) => void,
  kinds: DatabaseKind[] = ['sqlite', 'postgres'],
  storageKind: StorageKind = 'fs',
): void {
  for (const kind of kinds) {
    describe(`${title} (${kind}, ${storageKind})`, () => {
      body(useWorldPerTest(kind, storageKind))
    })
  }
}
