import 'reflect-metadata'
import { afterAll, describe, expect, it } from 'vitest'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import { describeStorageConformance } from '@attrstore/core/conformance'
import { InstrumentedStorage } from '@attrstore/testing'
import { setStorage, StoredAttribute } from '@attrstore/typeorm'
import { collectGarbage } from '@attrstore/cli'
import { startSigningServer } from './third-driver/signing-server.js'
import { StagedMemoryBackend, StagedMemoryStorage } from './third-driver/staged-memory-storage.js'

const HOUR = 60 * 60 * 1000

const backend = new StagedMemoryBackend()
const server = await startSigningServer(backend)
afterAll(() => server.close())

// The conformance suite over a driver attrstore's code has never heard of: its
// capability checks (stale writes, signed URLs, direct uploads) run on it.
describeStorageConformance('StagedMemoryStorage (a third, test-only driver)', {
  create: ({ keyGenerator }) =>
    new StagedMemoryStorage(backend, keyGenerator ? { keyGenerator } : {}),
  largeBody: { skip: 'StagedMemoryStorage keeps every body in memory' },
  leaveStaleWrite: async () => backend.abandonWrite(2 * HOUR),
})

@Entity()
class Note {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) title!: string
  @StoredAttribute() body!: unknown
}

describe('gc over a third driver', () => {
  let dataSource: DataSource | undefined
  afterAll(async () => {
    await dataSource?.destroy()
  })

  it("cleans the driver's own stale work through cleanStaleWrites: counted in a dry run, removed with --delete", async () => {
    const notes = new StagedMemoryBackend()
    const storage = new StagedMemoryStorage(notes)
    dataSource = new DataSource({
      type: 'better-sqlite3',
      database: ':memory:',
      entities: [Note],
      synchronize: true,
    })
    setStorage(dataSource, Note, 'body', storage)
    await dataSource.initialize()
    const repository = dataSource.getRepository(Note)
    const row = await repository.save(repository.create({ title: 'kept', body: Buffer.from('hi') }))
    notes.abandonWrite(2 * HOUR, 100) // a writer that died two hours ago
    notes.abandonWrite(60_000, 5) // one that may still be running
    expect(notes.staged.size).toBe(2)

    const dry = await collectGarbage(dataSource, { graceMs: HOUR })
    expect(dry.stores).toHaveLength(1)
    expect(dry.stores[0]).toMatchObject({
      store: `staged-memory://${notes.id}/`,
      referenced: { count: 1 },
      orphans: { count: 0 },
      staleWrites: { kind: 'staged writes', supported: true, found: 2, kept: 1, removed: 0 },
    })
    expect(notes.staged.size).toBe(2)

    const real = await collectGarbage(dataSource, { graceMs: HOUR, delete: true })
    expect(real.stores[0]?.staleWrites).toEqual({
      kind: 'staged writes',
      supported: true,
      found: 2,
      removed: 1,
      kept: 1,
      failed: 0,
      bytes: 100,
    })
    expect(notes.staged.size).toBe(1)
    expect([...notes.staged.values()][0]!.startedAt).toBeGreaterThan(Date.now() - HOUR)
    const back = await repository.findOneByOrFail({ id: row.id })
    expect(String(back.body)).toBe('hi')
    expect(notes.objects.size).toBe(1)
  })

  it('a wrapper forwards the capabilities its storage has, and claims none it lacks', async () => {
    const staged = new InstrumentedStorage(new StagedMemoryStorage(new StagedMemoryBackend()))
    expect(typeof staged.cleanStaleWrites).toBe('function')
    expect(typeof staged.signedUrl).toBe('function')
    expect(typeof staged.createDirectUpload).toBe('function')
    expect(staged.dispose).toBeUndefined()
    expect(await staged.cleanStaleWrites!({ olderThanMs: 0 })).toMatchObject({ found: 0 })
    const plain = new InstrumentedStorage(new MemoryStorage())
    for (const capability of ['cleanStaleWrites', 'dispose', 'signedUrl', 'createDirectUpload']) {
      expect(capability in plain, capability).toBe(false)
    }
  })
})
