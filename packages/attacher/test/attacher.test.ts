/**
 * The attacher without any ORM: an entity is a plain object, a "connection" a string, and
 * the reference index the set of keys plain rows hold. What the TypeORM tests check through
 * a database, checked here through the ports alone.
 */
import { describe, expect, it } from 'vitest'
import { MemoryStorage, type AttributeStorage } from '@attrstore/core'
import {
  Attacher,
  getStorageKey,
  InProcessObjectLocks,
  StoredContent,
  UnitOfWork,
  waitingObjectLocks,
  type AttachedAttribute,
} from '../src/index.js'
import { attribute, Rows, type Row } from './plain-rows.js'

async function objectCount(storage: AttributeStorage): Promise<number> {
  let count = 0
  for await (const _object of storage.list()) count++
  return count
}

/** What an adapter does for one insert or update statement at `depth`, up to its success. */
async function save(
  attacher: Attacher<string>,
  unit: UnitOfWork<string>,
  entity: Row,
  stored: AttachedAttribute<Row>,
  depth: number,
  row: Row,
): Promise<void> {
  await attacher.write({
    entity,
    attribute: stored,
    unit,
    depth,
    previous: [row.data],
    databaseEntity: undefined,
    touchesRows: true,
    connection: 'connection',
  })
  row.data = entity.data // the statement writes the key the attacher put in the property
  unit.statementSucceeded(entity)
}

describe('@attrstore/attacher without an ORM', () => {
  it('a committed update deletes the superseded object; a rolled-back one only its upload', async () => {
    const storage = new MemoryStorage()
    const host = new Rows()
    const attacher = new Attacher(host)
    const stored = attribute(storage)
    const row: Row = {}
    host.rows.add(row)
    const entity: Row = { data: Buffer.from('first') }

    const first = new UnitOfWork(host)
    await save(attacher, first, entity, stored, 1, row)
    await first.committed(0, 'connection')
    const firstKey = getStorageKey(entity, 'data')!
    expect(entity.data).toEqual(Buffer.from('first')) // the content is shown again
    expect(await storage.read(firstKey)).toEqual(Buffer.from('first'))

    entity.data = Buffer.from('second')
    const rolledBack = new UnitOfWork(host)
    await save(attacher, rolledBack, entity, stored, 1, row)
    const secondKey = row.data as string
    row.data = firstKey // the database rolls the row back
    await rolledBack.rolledBack(0)
    expect(await storage.exists(secondKey)).toBe(false)
    expect(await storage.exists(firstKey)).toBe(true)
    expect(entity.data).toEqual(Buffer.from('second')) // the user's value is put back
    expect(getStorageKey(entity, 'data')).toBe(firstKey)

    const committed = new UnitOfWork(host)
    await save(attacher, committed, entity, stored, 1, row)
    await committed.committed(0, 'connection')
    expect(await storage.exists(firstKey)).toBe(false)
    expect(await storage.read(getStorageKey(entity, 'data')!)).toEqual(Buffer.from('second'))
    expect(host.failures).toEqual([])
  })

  it('keeps a superseded object that another row still references', async () => {
    const storage = new MemoryStorage()
    const host = new Rows()
    const attacher = new Attacher(host)
    const stored = attribute(storage)
    const row: Row = {}
    host.rows.add(row)
    const entity: Row = { data: 'shared' }
    const unit = new UnitOfWork(host)
    await save(attacher, unit, entity, stored, 1, row)
    await unit.committed(0, 'connection')
    const key = getStorageKey(entity, 'data')!
    host.rows.add({ data: key }) // an import elsewhere
    entity.data = 'changed'
    const next = new UnitOfWork(host)
    await save(attacher, next, entity, stored, 1, row)
    await next.committed(0, 'connection')
    expect(await storage.exists(key)).toBe(true)
  })

  it('loads eagerly with a hash that notices in-place edits, lazily as a handle, or as the key', async () => {
    const storage = new MemoryStorage()
    const { key } = await storage.write(Buffer.from('bytes'))
    const attacher = new Attacher(new Rows())

    const eager: Row = { data: key }
    await attacher.load(eager, attribute(storage, 'eager'))
    expect(eager.data).toEqual(Buffer.from('bytes'))
    expect(getStorageKey(eager, 'data')).toBe(key)

    // An unchanged save uploads nothing; the same Buffer edited in place is a change.
    const unit = new UnitOfWork(new Rows())
    const unchanged = attribute(storage)
    const before = await objectCount(storage)
    await attacher.write({
      entity: eager,
      attribute: unchanged,
      unit,
      depth: 1,
      previous: [key],
      databaseEntity: { data: key },
      touchesRows: true,
      connection: 'connection',
    })
    expect(await objectCount(storage)).toBe(before)
    ;(eager.data as Buffer)[0] = 0x42
    await attacher.write({
      entity: eager,
      attribute: unchanged,
      unit,
      depth: 1,
      previous: [key],
      databaseEntity: { data: key },
      touchesRows: true,
      connection: 'connection',
    })
    expect(await objectCount(storage)).toBe(before + 1)

    const lazy: Row = { data: key }
    expect(attacher.load(lazy, attribute(storage, 'lazy'))).toBeUndefined() // no promise
    expect(lazy.data).toBeInstanceOf(StoredContent)
    expect(await (lazy.data as StoredContent).buffer()).toEqual(Buffer.from('bytes'))

    const none: Row = { data: key }
    expect(attacher.load(none, attribute(storage, 'none'))).toBeUndefined()
    expect(none.data).toBe(key)
  })

  it('in-process object locks: a shared import lock overtakes a queued deletion', async () => {
    const storage = new MemoryStorage()
    const locks = new InProcessObjectLocks<string>()
    const releaseFirst = await locks.forImport(storage, 'k')
    let deleted = false
    const deletion = locks.forDeletion(storage, 'k', undefined, () => {
      deleted = true
      return Promise.resolve()
    })
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(deleted).toBe(false) // waits for the import's work to end
    expect(waitingObjectLocks()).toBe(1)
    // The same work importing the object again must not queue behind the deletion.
    const releaseSecond = await Promise.race([
      locks.forImport(storage, 'k'),
      new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 1000)),
    ])
    expect(releaseSecond).toBeTypeOf('function')
    releaseFirst()
    releaseSecond!()
    await deletion
    expect(deleted).toBe(true)
    expect(waitingObjectLocks()).toBe(0)
  })
})
