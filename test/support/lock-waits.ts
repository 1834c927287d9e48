/** Seeing, from a test, that a lock request is waiting: the gate of the lock-ordering tests. */
import { waitingObjectLocks } from '../../packages/typeorm/src/object-locks.js'
import type { WorldContext } from './each-database.js'

/**
 * Resolves once some lock request waits: an attrstore object lock in this process, or on
 * PostgreSQL any lock of the test's database. Gives up (resolving) after `ms`, so a wrong
 * ordering fails an assertion instead of hanging.
 */
export async function someoneWaits(t: WorldContext, ms = 10_000): Promise<void> {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (waitingObjectLocks() > 0) return
    if (t.kind === 'postgres') {
      const [row] = await t.world.dataSource.query<Array<{ count: string }>>(
        'SELECT count(*) AS count FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid ' +
          'WHERE NOT l.granted AND a.datname = current_database()',
      )
      if (Number(row?.count) > 0) return
    }
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
