/**
 * An import outside a transaction holds its object's in-process lock until its statement
 * has run. It must not take that lock before it holds a connection: a clean-up of the same
 * object holds its connection while it waits for the lock, so with the pool used up by
 * such clean-ups, the import would wait for a connection none of them gives back.
 */
import { expect, it } from 'vitest'
import { DataSource, type DataSourceOptions } from 'typeorm'
import { existingObject, ObjectNotFoundError } from '@attrstore/core'
import { getStorageKey, setStorage } from '@attrstore/typeorm'
import { File } from '../support/entities.js'
import { sleep } from '../support/controlled-bodies.js'
import { describeOnEachDatabase } from '../support/each-database.js'

/** Resolves once someone waits for a connection of `dataSource`'s pool, or after `ms`. */
async function poolWaiter(dataSource: DataSource, ms = 10_000): Promise<void> {
  const pool = (dataSource.driver as unknown as { master: { waitingCount: number } }).master
  const until = Date.now() + ms
  while (Date.now() < until && pool.waitingCount === 0) await sleep(10)
}

describeOnEachDatabase(
  'object locks: a pool of one connection',
  (t) => {
    it('an import outside a transaction, waiting for the connection a clean-up of its object holds, does not deadlock', async () => {
      const dataSource = new DataSource({
        ...t.world.dataSource.options,
        poolSize: 1,
        synchronize: false,
      } as DataSourceOptions)
      setStorage(dataSource, File, 'data', t.world.main)
      await dataSource.initialize()
      try {
        const files = dataSource.getRepository(File)
        const original = await files.save(files.create({ name: 'orig.bin', data: 'shared' }))
        const key = getStorageKey(original, 'data')!
        // A transaction replaces the original's object, holding the only connection...
        const runner = dataSource.createQueryRunner()
        await runner.connect()
        let importing: Promise<unknown> | undefined
        try {
          await runner.startTransaction()
          original.data = Buffer.from('replaced')
          await runner.manager.save(original)
          // ...while an insert outside any transaction imports that object and waits for it.
          importing = dataSource
            .createQueryBuilder()
            .insert()
            .into(File)
            .values({ name: 'copy.bin', data: existingObject(key) })
            .execute()
            .then(
              () => 'saved',
              (error: unknown) => error,
            )
          await poolWaiter(dataSource)
          // The commit's clean-up of the object must not wait for the import forever.
          const committed = runner.commitTransaction().then(() => 'committed')
          const outcome = await Promise.race([committed, sleep(15_000).then(() => 'deadlocked')])
          expect(outcome).toBe('committed')
        } finally {
          await runner.release()
        }
        const imported = await Promise.race([importing, sleep(15_000).then(() => 'deadlocked')])
        expect(imported).toBeInstanceOf(ObjectNotFoundError)
        expect(await t.missing()).toEqual([])
      } finally {
        await dataSource.destroy()
      }
    })
  },
  ['postgres'],
)
