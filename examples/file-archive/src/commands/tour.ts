/**
 * `tour`: every command on generated sample files, printing after each step what changed
 * in the database (rows and the key each `data` column holds) and in the bucket (objects).
 *
 * With the embedded default it works in a fresh temporary data directory (kept with
 * --keep); with DATABASE_URL / AWS_S3_ENDPOINT_URL it uses those, names its files
 * `tour-<time>/...`, and removes them at the end.
 */
import { randomFillSync } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { once } from 'node:events'
import { sha256Hex } from '@attrstore/core/driver'
import { getStorageKey } from '@attrstore/typeorm'
import { openArchive, type Archive } from '../archive.js'
import { resolveConfig } from '../config.js'
import { File } from '../entity.js'
import { describeFailure } from '../errors.js'
import { hashFile } from '../local-files.js'
import { measureMemoryGrowth } from '../memory-growth.js'
import { formatBytes } from '../progress.js'
import { checkCommand } from './check.js'
import { exportCommand } from './export.js'
import { importCommand } from './import.js'
import { listCommand } from './list.js'
import { removeCommand } from './remove.js'
import { replaceCommand } from './replace.js'
import type { CommandContext } from './shared.js'
import { showCommand } from './show.js'

interface Snapshot {
  /** id → "name  data=<key>" */
  rows: Map<number, { name: string; size: number; key: string }>
  /** key → size */
  objects: Map<string, number>
}

async function snapshot(archive: Archive, namePrefix: string): Promise<Snapshot> {
  const table = archive.dataSource.getMetadata(File)
  const { tableName } = table
  const column = (property: string): string =>
    archive.dataSource.driver.escape(table.findColumnWithPropertyName(property)!.databaseName)
  // Raw SQL, to show what the row really holds: the `data` column is a storage key.
  const rows: Array<{ id: number; name: string; size: number | string; data: string }> =
    await archive.dataSource.query(
      `SELECT ${column('id')} AS id, ${column('name')} AS name, ${column('size')} AS size, ${column('data')} AS data ` +
        `FROM ${archive.dataSource.driver.escape(tableName)} ORDER BY ${column('id')}`,
    )
  const snap: Snapshot = { rows: new Map(), objects: new Map() }
  for (const row of rows) {
    if (row.name.startsWith(namePrefix))
      snap.rows.set(Number(row.id), { name: row.name, size: Number(row.size), key: row.data })
  }
  const ours = new Set([...snap.rows.values()].map((row) => row.key))
  for await (const object of archive.storage.list()) {
    // In a shared bucket, show only objects the tour's rows reference or referenced.
    if (namePrefix === '' || ours.has(object.key)) snap.objects.set(object.key, object.size)
  }
  return snap
}

function printChanges(print: (line: string) => void, before: Snapshot, after: Snapshot): void {
  const lines: string[] = []
  for (const [id, row] of after.rows) {
    const old = before.rows.get(id)
    if (!old)
      lines.push(
        `  database: + row #${id} ${row.name} (${formatBytes(row.size)})  data = ${row.key}`,
      )
    else if (old.key !== row.key || old.size !== row.size) {
      lines.push(`  database: ~ row #${id} ${row.name}  data = ${old.key}  ->  ${row.key}`)
    }
  }
  for (const [id, row] of before.rows)
    if (!after.rows.has(id)) lines.push(`  database: - row #${id} ${row.name}`)
  for (const [key, size] of after.objects)
    if (!before.objects.has(key)) lines.push(`  bucket:   + ${key} (${formatBytes(size)})`)
  for (const key of before.objects.keys())
    if (!after.objects.has(key)) lines.push(`  bucket:   - ${key}`)
  if (lines.length === 0) lines.push('  database and bucket: unchanged')
  for (const line of lines) print(line)
}

/** Random bytes written in 1 MiB chunks: a large file without a large buffer. */
async function writeRandomFile(file: string, size: number): Promise<void> {
  const out = createWriteStream(file)
  const chunk = Buffer.alloc(1024 * 1024)
  for (let written = 0; written < size; written += chunk.length) {
    randomFillSync(chunk)
    if (!out.write(size - written < chunk.length ? chunk.subarray(0, size - written) : chunk))
      await once(out, 'drain')
  }
  out.end()
  await once(out, 'finish')
}

async function makeSamples(directory: string, largeSize: number): Promise<void> {
  await mkdir(path.join(directory, 'photos', '2026'), { recursive: true })
  await writeFile(path.join(directory, 'notes.txt'), 'Meeting notes, first draft.\n'.repeat(40))
  await writeFile(
    path.join(directory, 'notes-v2.txt'),
    'Meeting notes, second draft: decisions taken.\n'.repeat(60),
  )
  await writeFile(
    path.join(directory, 'photos', 'beach.png'),
    randomFillSync(Buffer.alloc(200 * 1024)),
  )
  await writeFile(
    path.join(directory, 'photos', 'city.jpg'),
    randomFillSync(Buffer.alloc(300 * 1024)),
  )
  await writeFile(
    path.join(directory, 'photos', '2026', 'mountain.jpg'),
    randomFillSync(Buffer.alloc(150 * 1024)),
  )
  await writeRandomFile(path.join(directory, 'video.mp4'), largeSize)
}

export interface TourOptions {
  print: (line: string) => void
  /** Keep the temporary data directory (embedded default). */
  keep: boolean
  /** Size of the large sample file. Default TOUR_LARGE_MIB or 48 MiB. */
  largeSize?: number
}

export async function tourCommand(options: TourOptions): Promise<void> {
  const { print } = options
  const largeSize = options.largeSize ?? Number(process.env.TOUR_LARGE_MIB || 48) * 1024 * 1024
  const work = await mkdtemp(path.join(tmpdir(), 'file-archive-tour-'))
  const samples = path.join(work, 'samples')
  const exported = path.join(work, 'exported')
  await mkdir(exported, { recursive: true })

  const base = resolveConfig()
  const embedded = base.database.kind === 'sqlite' && base.storage.kind === 'embedded-s3'
  // The embedded default gets a fresh archive; a configured one gets names of its own.
  const config = embedded
    ? resolveConfig({ ...process.env, ARCHIVE_DIR: path.join(work, 'archive-data') })
    : base
  const prefix = embedded ? '' : `tour-${new Date().toISOString().replace(/[:.]/g, '-')}/`
  const name = (local: string): string => `${prefix}${local}`

  const step = (title: string): void => print(`\n== ${title}`)
  print(
    'attrstore file-archive tour: rows in a database, bytes in S3, and the row keeps only a key.',
  )
  const archive = await openArchive(config, { warn: print })
  const context: CommandContext = { archive, print: (line) => print(`  ${line}`) }
  let state = await snapshot(archive, prefix)
  const changes = async (): Promise<void> => {
    const next = await snapshot(archive, prefix)
    printChanges(print, state, next)
    state = next
  }

  try {
    step('Where things live')
    for (const line of archive.describe()) print(`  ${line}`)
    if (embedded)
      print(`  data directory: ${config.dataDir}${options.keep ? ' (kept)' : ' (temporary)'}`)

    step('Generating sample files')
    await makeSamples(samples, largeSize)
    print(
      `  ${samples}: notes.txt, notes-v2.txt, photos/ (3 images), video.mp4 (${formatBytes(largeSize)}, random)`,
    )

    step('import notes.txt: the upload happens before the INSERT, which stores only the key')
    await importCommand(context, [path.join(samples, 'notes.txt')], { name: name('notes.txt') })
    await changes()

    step('import photos/ (a directory, one transaction: all files or none)')
    await importCommand(
      context,
      [path.join(samples, 'photos')],
      prefix ? { name: name('photos') } : {},
    )
    await changes()

    step(`import video.mp4 (${formatBytes(largeSize)}, streamed: never held whole in memory)`)
    const { memory } = await measureMemoryGrowth(() =>
      importCommand(
        { ...context, progress: { threshold: 8 * 1024 * 1024 } },
        [path.join(samples, 'video.mp4')],
        {
          name: name('video.mp4'),
        },
      ),
    )
    await changes()
    print(
      `  memory: the import grew this process's RSS by ${formatBytes(Math.max(0, memory.peak - memory.baseline))} ` +
        `(from ${formatBytes(memory.baseline)} before it to a peak of ${formatBytes(memory.peak)})` +
        (embedded
          ? '; the S3 server (fauxqs) runs in this same process, so its buffers count too'
          : ''),
    )

    step('list (lazy entity: the rows only, nothing downloaded)')
    await listCommand(context)

    step('show notes.txt (the row, its key, and what the bucket says)')
    await showCommand(context, name('notes.txt'))

    step('export photos/beach.png and video.mp4 (streamed back, SHA-256 checked on the way)')
    for (const [archived, local] of [
      [name('photos/beach.png'), path.join(samples, 'photos', 'beach.png')],
      [name('video.mp4'), path.join(samples, 'video.mp4')],
    ] as const) {
      const target = await exportCommand(context, archived, exported)
      const [original, copy] = await Promise.all([
        hashFile({ path: local, name: archived, size: 0 }),
        hashFile({ path: target, name: archived, size: 0 }),
      ])
      print(
        `  ${path.basename(target)}: ${original.sha256 === copy.sha256 ? 'identical to the original' : 'DIFFERENT from the original'}`,
      )
    }
    await changes()

    step(
      'replace notes.txt with notes-v2.txt (new object under a NEW key; the old one is deleted after commit)',
    )
    await replaceCommand(context, name('notes.txt'), path.join(samples, 'notes-v2.txt'))
    await changes()

    step('import notes.txt again: refused, the name is taken')
    try {
      await importCommand(context, [path.join(samples, 'notes.txt')], { name: name('notes.txt') })
      print('  UNEXPECTED: the import succeeded')
    } catch (error) {
      print(`  refused: ${describeFailure(error).message}`)
    }
    await changes()

    step('a transaction that fails after its upload: attrstore deletes the new object on rollback')
    let draftKey: string | null | undefined
    try {
      await archive.dataSource.transaction(async (manager) => {
        const draft = manager.create(File, {
          name: name('draft.txt'),
          mediaType: 'text/plain',
          size: 6,
          sha256: sha256Hex('draft\n'),
          data: Buffer.from('draft\n'),
        })
        await manager.save(draft)
        draftKey = getStorageKey(draft, 'data')
        const there = typeof draftKey === 'string' && (await archive.storage.exists(draftKey))
        print(
          `  inside the transaction: row #${draft.id} inserted, object ${draftKey} in the bucket: ${there ? 'yes' : 'no'}`,
        )
        print('  now failing on purpose')
        throw new Error('simulated failure after the upload')
      })
    } catch (error) {
      print(`  transaction rolled back: ${(error as Error).message}`)
    }
    if (typeof draftKey === 'string') {
      print(
        `  object ${draftKey} in the bucket after the rollback: ${(await archive.storage.exists(draftKey)) ? 'yes' : 'no'}`,
      )
    }
    await changes()

    step('remove photos/city.jpg (the object is deleted once the DELETE is committed)')
    await removeCommand(context, [name('photos/city.jpg')])
    await changes()

    step('check: every row has its object, with the right size and SHA-256; no orphans')
    const report = await checkCommand(context, { deep: true })
    if (!report.consistent) throw new Error('the archive is not consistent')

    if (prefix) {
      step(`clean up: remove the tour's files (${prefix}*)`)
      const ours = await archive.files.find({ select: { name: true } })
      await removeCommand(
        context,
        ours.map((file) => file.name).filter((file) => file.startsWith(prefix)),
      )
      await changes()
    }
    print(
      '\nDone: the bytes went to the bucket and back, streamed; the database kept only their keys.',
    )
    if (embedded && options.keep) {
      print(
        `Try it on the kept archive: ARCHIVE_DIR=${config.dataDir} pnpm --filter @attrstore/example-file-archive archive list`,
      )
    }
  } finally {
    await archive.close()
    await rm(samples, { recursive: true, force: true })
    await rm(exported, { recursive: true, force: true })
    if (!(embedded && options.keep)) await rm(work, { recursive: true, force: true })
  }
}
