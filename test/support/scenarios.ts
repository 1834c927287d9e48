/**
 * The transaction table of docs/architecture.md, for every way TypeORM writes and loads,
 * against one database kind and one storage kind. After each scenario both sides are
 * checked: each committed row's key resolves to its bytes, and the storage holds exactly
 * the objects the rows reference (no orphan, nothing missing), unless the scenario says
 * otherwise. The scenarios themselves are in ./scenarios/, one module per kind of operation.
 */
import { describe } from 'vitest'
import type { DatabaseKind, NamedStorageServer, StorageKind } from './environment.js'
import { criteriaAndRemovalScenarios } from './scenarios/criteria-and-removals.js'
import { failureScenarios } from './scenarios/failures.js'
import { loadScenarios } from './scenarios/loads.js'
import { saveScenarios } from './scenarios/saves.js'
import { transactionScenarios } from './scenarios/transactions.js'
import { useWorldPerTest } from './world-per-test.js'

/**
 * Describes every scenario on one database kind and one storage kind. `named` (S3 only):
 * storages on a named engine, started by the test file with `startStorageServerOrSkip` and
 * stopped by it; when that engine cannot run here, every scenario is skipped under a title
 * that says why. Without it, the storages come from `startStorageServer(storageKind)` (auto
 * mode).
 */
export function describeTypeormScenarios(
  databaseKind: DatabaseKind,
  storageKind: StorageKind,
  named?: NamedStorageServer,
): void {
  const on = named ? ` on ${named.engine}` : ''
  const skipped = named?.skip !== undefined ? ` (skipped: ${named.skip})` : ''
  const describeHere = describe.skipIf(skipped !== '')
  describeHere(`TypeORM on ${databaseKind} with ${storageKind} storage${on}${skipped}`, () => {
    const t = useWorldPerTest(databaseKind, storageKind, named)
    saveScenarios(t)
    criteriaAndRemovalScenarios(t)
    transactionScenarios(t)
    loadScenarios(t)
    failureScenarios(t)
  })
}
