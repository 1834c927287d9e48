import { randomUUID } from 'node:crypto'
import { chmod, mkdir, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import type { AttributeStorage } from '@attrstore/core'
import { RESERVED_DIRECTORY, type BytesFileSystemStorage } from '@attrstore/fs'
import { getStorageKey, storageEvents } from '@attrstore/typeorm'
import { describe, expect, it } from 'vitest'
import { collectGarbage, statistics, verify } from '../../src/index.js'
import { Attachment, Document } from '../fixtures/entities.js'
import { openStorage } from '@attrstore/testing/world'
import {
  collect,
  FIXTURES,
  runCli,
  scenarioTitle,
  spawnScript,
  storedKeys,
  useWorlds,
  type DatabaseKind,
  type NamedStorageServer,
  type StorageKind,
  type World,
} from '../support.js'

const HOUR = 60 * 60 * 1000

/** Every key the rows reference (soft-deleted rows included), sorted. */
async function referencedKeys(world: World): Promise<string[]> {
  const documents = await world.dataSource.query<Array<{ k: string | null }>>(
    'SELECT body AS k FROM document',
  )
  const attachments = await world.dataSource.query<Array<{ k: string | null }>>(
    'SELECT content AS k FROM attachment',
  )
  return [...documents, ...attachments].flatMap(({ k }) => (k === null ? [] : [k])).sort()
}

/** Makes `storage.delete` fail until restored: the storage was unreachable when a clean-up ran. */
function failDeletes(storage: AttributeStorage): () => void {
  const target = storage as unknown as Record<string, unknown>
  target.delete = async () => {
    throw new Error('injected: storage unreachable')
  }
  return () => void delete target.delete
}

/** Overwrites an object's bytes behind the storage's back, keeping its recorded SHA-256. */
async function corrupt(world: World, key: string): Promise<void> {
  const storage = world.main
  if (world.specs.main!.kind === 'fs') {
    const file = (storage as BytesFileSystemStorage).pathOf(key)
    await chmod(file, 0o644)
    await writeFile(file, 'tampered with!')
    return
  }
  const { HeadObjectCommand, PutObjectCommand } = await import('@aws-sdk/client-s3')
  const s3 = storage as unknown as {
    client: { send(command: unknown): Promise<{ Metadata?: Record<string, string> }> }
    bucket: string
    config: { keyPrefix: string }
  }
  const Key = `${s3.config.keyPrefix}${key}`
  const head = await s3.client.send(new HeadObjectCommand({ Bucket: s3.bucket, Key }))
  await s3.client.send(
    new PutObjectCommand({
      Bucket: s3.bucket,
      Key,
      Body: 'tampered with!',
      Metadata: head.Metadata,
    }),
  )
}

/**
 * Describes gc, stat and verify on one database kind and one storage kind; `named` (S3
 * only): a server on a named engine from `startStorageServerOrSkip`, every case skipped by name when
 * that engine cannot run here.
 */
export function describeOperations(
  databaseKind: DatabaseKind,
  storageKind: StorageKind,
  named?: NamedStorageServer,
): void {
  const title = `gc, stat and verify on ${databaseKind} with the ${storageKind} storage`
  const describeHere = describe.skipIf(named?.skip !== undefined)
  describeHere(scenarioTitle(title, named), () => {
    const { world, unavailable } = useWorlds(databaseKind, storageKind, named)

    it('gc after committed, rolled-back and crashed transactions deletes exactly the orphans and nothing a row references', async (context) => {
      if (unavailable()) return context.skip()
      const w = await world()
      const { dataSource, main } = w
      const documents = dataSource.getRepository(Document)
      const attachments = dataSource.getRepository(Attachment)
      const cleanupFailures: string[] = []
      storageEvents(dataSource).on('cleanupFailed', (failure) => cleanupFailures.push(failure.key))

      // Committed: inserts of two entities sharing the storage, an update, a removal, a soft removal.
      const docs: Document[] = []
      for (let i = 0; i < 6; i++) {
        docs.push(
          await documents.save(
            documents.create({ name: `committed ${i}`, body: Buffer.from(`committed ${i}`) }),
          ),
        )
      }
      await attachments.save(attachments.create({ content: Buffer.from('an attachment') }))
      docs[0]!.body = Buffer.from('updated')
      await documents.save(docs[0]!)
      await documents.remove(docs[1]!)
      await documents.softRemove(docs[2]!)
      // Rolled back: the subscriber deletes the upload; no orphan.
      const rollBack = (name: string) =>
        dataSource
          .transaction(async (manager) => {
            await manager.save(manager.create(Document, { name, body: Buffer.from(name) }))
            throw new Error('roll back')
          })
          .catch(() => {})
      await rollBack('rolled back')
      // The storage fails while cleaning up: a rolled-back upload and a removed row's object stay behind.
      const removedKey = getStorageKey(docs[3]!, 'body')!
      const restore = failDeletes(main)
      await rollBack('rolled back, clean-up failed')
      await documents.remove(docs[3]!)
      restore()
      expect(cleanupFailures).toHaveLength(2)
      expect(cleanupFailures).toContain(removedKey)
      // Crashed: a process uploads inside a transaction and is killed before it commits.
      const crasher = spawnScript(path.join(FIXTURES, 'crash-writer.ts'), [], w.env)
      const crashed = collect(crasher)
      const crashKey = await new Promise<string>((resolve, reject) => {
        let output = ''
        crasher.stdout!.on('data', (chunk: Buffer) => {
          output += chunk.toString()
          const match = /UPLOADED (\S+)/.exec(output)
          if (match) resolve(match[1]!)
        })
        void crashed.then((result) =>
          reject(new Error(`crash-writer ended on its own: ${result.stderr}`)),
        )
      })
      crasher.kill('SIGKILL')
      expect((await crashed).signal).toBe('SIGKILL')
      // A write killed mid-way leaves a temporary file (filesystem storage).
      let staleTemporaryFile: string | undefined
      if (storageKind === 'fs') {
        const root = (main as BytesFileSystemStorage).root
        staleTemporaryFile = path.join(root, RESERVED_DIRECTORY, 'tmp', `${randomUUID()}.tmp`)
        await mkdir(path.dirname(staleTemporaryFile), { recursive: true })
        await writeFile(staleTemporaryFile, 'half a body')
        const old = new Date(Date.now() - 2 * HOUR)
        await utimes(staleTemporaryFile, old, old)
      }

      const referenced = await referencedKeys(w)
      expect(referenced).toHaveLength(4 + 1) // docs 0, 2 (soft-deleted), 4, 5 and the attachment
      const before = await storedKeys(main)
      const orphans = before.filter((key) => !referenced.includes(key))
      expect(orphans).toHaveLength(3)
      expect(orphans).toEqual(expect.arrayContaining([removedKey, crashKey]))
      expect(before.filter((key) => referenced.includes(key))).toEqual(referenced)

      // stat sees the same.
      const stats = await statistics(dataSource, { graceMs: 0 })
      expect(stats.attributes).toEqual([
        expect.objectContaining({
          entity: 'Attachment',
          attribute: 'content',
          rows: 1,
          withKey: 1,
          objects: 1,
          missing: 0,
        }),
        expect.objectContaining({
          entity: 'Document',
          attribute: 'body',
          rows: 4,
          withKey: 4,
          objects: 4,
          missing: 0,
        }),
      ])
      expect(stats.stores).toHaveLength(1)
      expect(stats.stores[0]!.orphans.count).toBe(3)

      // Dry run by default; the default 24 h grace keeps every young orphan.
      const defaults = await runCli(w, ['gc', '--json', '--no-progress'])
      expect(defaults.code).toBe(0)
      const dryDefault = JSON.parse(defaults.stdout)
      expect(dryDefault).toMatchObject({ dryRun: true, graceMs: 24 * HOUR })
      expect(dryDefault.stores[0]).toMatchObject({
        orphans: { count: 0 },
        recent: { count: 3 },
        deleted: { count: 0 },
      })
      const dry = JSON.parse(
        (await runCli(w, ['gc', '--grace', '0', '--json', '--no-progress'])).stdout,
      )
      expect(dry.stores[0].orphans.count).toBe(3)
      expect(dry.stores[0].deleted.count).toBe(0)
      expect(dry.stores[0].referenced.count).toBe(5)
      expect(await storedKeys(main)).toEqual(before)

      if (storageKind === 'fs') {
        // Only orphans older than the grace period go: age the crashed upload by two hours.
        const file = (main as BytesFileSystemStorage).pathOf(crashKey)
        const old = new Date(Date.now() - 2 * HOUR)
        await utimes(file, old, old)
        const aged = await runCli(w, ['gc', '--grace', '1h', '--delete', '--json', '--no-progress'])
        expect(aged.code).toBe(0)
        const report = JSON.parse(aged.stdout)
        expect(report.stores[0]).toMatchObject({
          orphans: { count: 1 },
          deleted: { count: 1 },
          recent: { count: 2 },
          staleWrites: { kind: 'temporary files', removed: 1 },
        })
        expect(await main.exists(crashKey)).toBe(false)
      } else {
        const young = JSON.parse(
          (await runCli(w, ['gc', '--grace', '1h', '--delete', '--json', '--no-progress'])).stdout,
        )
        expect(young.stores[0]).toMatchObject({
          orphans: { count: 0 },
          deleted: { count: 0 },
          recent: { count: 3 },
        })
        expect(young.stores[0].staleWrites).toMatchObject({ kind: 'multipart uploads' })
      }

      const deleted: string[] = []
      const report = await collectGarbage(dataSource, {
        graceMs: 0,
        delete: true,
        onOrphan: ({ key }) => deleted.push(key),
      })
      expect(report.complete).toBe(true)
      expect([...deleted].sort()).toEqual(
        orphans.filter((key) => storageKind === 's3' || key !== crashKey).sort(),
      )
      expect(await storedKeys(main)).toEqual(referenced)
      const rows = await documents.find({ withDeleted: true, order: { id: 'ASC' } })
      expect(
        await Promise.all(
          rows.map(async (row) => (await main.read(row.body as string)).toString()),
        ),
      ).toEqual(['updated', 'committed 2', 'committed 4', 'committed 5'])
      const again = await collectGarbage(dataSource, { graceMs: 0, delete: true })
      expect(again.stores[0]!.orphans.count).toBe(0)
    })

    it('gc refuses to delete anything when the rows do not match the storage (wrong bucket, prefix or root)', async (context) => {
      if (unavailable()) return context.skip()
      const w = await world(['elsewhere'])
      const documents = w.dataSource.getRepository(Document)
      for (let i = 0; i < 3; i++)
        await documents.save(documents.create({ name: `doc ${i}`, body: Buffer.from(`doc ${i}`) }))
      // The CLI is pointed at another, non-empty store: every object there looks unreferenced.
      const elsewhere = w.specs.elsewhere!
      const stranger = await openStorage(elsewhere)
      const { key } = await stranger.write(Buffer.from('somebody else’s object'))
      const misconfigured = {
        ...w,
        env: { ...w.env, ATTRSTORE_TEST_STORAGES: JSON.stringify({ main: elsewhere }) },
      }
      const refused = await runCli(misconfigured, [
        'gc',
        '--grace',
        '0',
        '--delete',
        '--no-progress',
      ])
      expect(refused.code).toBe(2)
      expect(refused.stderr).toContain('None of the 3 references sampled from the rows exists')
      expect(await stranger.exists(key)).toBe(true)
      // A dry run still reports, so the mistake can be seen.
      const dry = await runCli(misconfigured, ['gc', '--grace', '0', '--json', '--no-progress'])
      expect(dry.code).toBe(0)
      expect(JSON.parse(dry.stdout).stores[0].orphans.count).toBe(1)
    })

    it('verify finds a deleted object and a corrupted one, by entity, id and key, and exits non-zero', async (context) => {
      if (unavailable()) return context.skip()
      const w = await world()
      const documents = w.dataSource.getRepository(Document)
      const docs: Document[] = []
      for (let i = 0; i < 5; i++) {
        docs.push(
          await documents.save(
            documents.create({ name: `doc ${i}`, body: Buffer.from(`content of document ${i}`) }),
          ),
        )
      }
      await documents.softRemove(docs[4]!)
      await w.dataSource.getRepository(Attachment).save({ content: Buffer.from('an attachment') })

      const clean = await runCli(w, ['verify', '--checksums', '--no-progress'])
      expect(clean.code).toBe(0)
      expect(clean.stdout).toContain('All objects present and intact.')

      const missingKey = getStorageKey(docs[1]!, 'body')!
      const corruptKey = getStorageKey(docs[4]!, 'body')! // soft-deleted rows are checked too
      await w.main.delete(missingKey)
      await corrupt(w, corruptKey)

      const existence = await runCli(w, ['verify', '--json', '--no-progress'])
      expect(existence.code).toBe(1)
      const quick = JSON.parse(existence.stdout)
      expect(quick.problems).toEqual([
        {
          kind: 'missing',
          entity: 'Document',
          attribute: 'body',
          id: String(docs[1]!.id),
          key: missingKey,
          detail: 'no object under this key',
        },
      ])

      const full = await runCli(w, ['verify', '--checksums', '--no-progress'])
      expect(full.code).toBe(1)
      expect(full.stderr).toContain(`missing  Document.body id=${docs[1]!.id} key=${missingKey}`)
      expect(full.stderr).toContain(`corrupt  Document.body id=${docs[4]!.id} key=${corruptKey}`)
      expect(full.stdout).toContain('2 problem(s) found.')

      const report = await verify(w.dataSource, { checksums: true })
      expect(report.problemCount).toBe(2)
      expect(
        report.problems.map(({ kind, entity, id, key }) => ({ kind, entity, id, key })),
      ).toEqual([
        { kind: 'missing', entity: 'Document', id: String(docs[1]!.id), key: missingKey },
        { kind: 'corrupt', entity: 'Document', id: String(docs[4]!.id), key: corruptKey },
      ])
      expect(report.attributes.find((a) => a.entity === 'Attachment')).toMatchObject({
        rows: 1,
        missing: 0,
        corrupt: 0,
      })
    })
  })
}
