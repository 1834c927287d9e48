/**
 * Claims of direct uploads without an ORM: the in-process claim lock (what SQLite and
 * imports outside PostgreSQL transactions rely on) lets one claim of an upload be in
 * progress at a time, and a row referencing it refuses later claims.
 */
import { describe, expect, it } from 'vitest'
import { MemoryStorage, UploadClaimError } from '@attrstore/core'
import { Attacher, claimUpload, UnitOfWork } from '../src/index.js'
import { attribute, Rows, type Row } from './plain-rows.js'

describe('claims of direct uploads, in process', () => {
  it('one claim at a time; a committed claim refuses the next; a rolled-back one frees the upload', async () => {
    const storage = new MemoryStorage()
    const host = new Rows()
    const attacher = new Attacher(host)
    const stored = attribute(storage)
    const { token } = host.uploadTokens.issue(
      { key: 'uploads/one', location: storage.location, maxSize: 100 },
      new Date(Date.now() + 60_000),
    )
    await storage.write('uploaded bytes', { key: 'uploads/one' })
    const claim = async (unit: UnitOfWork<string>, entity: Row) => {
      await attacher.write({
        entity,
        attribute: stored,
        unit,
        depth: 1,
        previous: [],
        databaseEntity: undefined,
        touchesRows: true,
        connection: 'connection',
      })
      unit.statementSucceeded(entity)
    }
    const reason = (error: unknown) => (error as UploadClaimError).reason

    const first = new UnitOfWork(host)
    const firstRow: Row = { data: claimUpload(token) }
    await claim(first, firstRow)
    // The first transaction has not ended: a second one is refused at once, without waiting.
    const second = new UnitOfWork(host)
    const refused = await claim(second, { data: claimUpload(token) }).catch((error) => error)
    expect(refused).toBeInstanceOf(UploadClaimError)
    expect(reason(refused)).toBe('claim-in-progress')
    await second.rolledBack(0)

    await first.rolledBack(0) // the first rolls back: the upload is kept, and free again
    expect(await storage.exists('uploads/one')).toBe(true)

    const third = new UnitOfWork(host)
    const row: Row = { data: claimUpload(token) }
    await claim(third, row)
    host.rows.add({ data: 'uploads/one' }) // its row, committed
    await third.committed(0, 'connection')
    expect(await storage.exists('uploads/one')).toBe(true)

    const fourth = new UnitOfWork(host)
    const again = await claim(fourth, { data: claimUpload(token) }).catch((error) => error)
    expect(reason(again)).toBe('claimed')
    await fourth.rolledBack(0)
  })
})
