/**
 * One CLI operation in a process of its own, so that its peak RSS is its own:
 * `tsx cli-task.ts <task> <attrstore|reference> <root>`, with BENCH_DATABASE_URL set by
 * run.ts. Prints one JSON line: `{ ms, cpuMs, maxRss, checked }`.
 *
 * Tasks (rows of bench_cli / bench_cli_migrate, bytes in BytesFileSystemStorage at <root>):
 * - `verify`: every key exists; `verify-checksums`: every object re-read and hashed
 *   against its recorded SHA-256;
 * - `gc`: the dry run: list the store, find the objects no row references;
 * - `migrate`: bench_cli_migrate.content copied into the stored attribute, each copy
 *   re-read and compared, the key written in the row.
 *
 * `attrstore` runs the `@attrstore/cli` function; `reference` a plain script doing the
 * same work with `pg` and the storage's primitives, with the same batch sizes and
 * concurrency. Both load the same modules and connect the same DataSource first, so that
 * their RSS differs by the work only.
 */
import { createHash } from 'node:crypto'
import { runBounded, hashStream } from '@attrstore/core/driver'
import { collectGarbage, migrate, verify } from '@attrstore/cli'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { setStorage } from '@attrstore/typeorm'
import pg from 'pg'
import { DataSource } from 'typeorm'
import { CLI_ENTITIES, CliMigrate, CliRow } from './lib/entities.js'

const [task, mode, root] = process.argv.slice(2) as [string, 'attrstore' | 'reference', string]
const url = process.env.BENCH_DATABASE_URL!
const storage = new BytesFileSystemStorage({ root, fsync: false })
const dataSource = new DataSource({ type: 'postgres', url, entities: CLI_ENTITIES })
setStorage(dataSource, task === 'migrate' ? CliMigrate : CliRow, 'data', storage)
await dataSource.initialize()
const pool = new pg.Pool({ connectionString: url, max: 4 })

/** Keyset pages of (id, column) from `table`, where `where` holds. */
async function* pages<T>(
  table: string,
  columns: string,
  where: string,
  size: number,
): AsyncIterable<Array<{ id: number } & T>> {
  let after = 0
  for (;;) {
    const { rows } = await pool.query<{ id: number } & T>(
      `SELECT id, ${columns} FROM ${table} WHERE id > $1 AND ${where} ORDER BY id LIMIT ${size}`,
      [after],
    )
    if (!rows.length) return
    yield rows
    after = rows[rows.length - 1]!.id
  }
}

async function reference(): Promise<number> {
  let checked = 0
  if (task === 'verify' || task === 'verify-checksums') {
    for await (const page of pages<{ data: string }>(
      'bench_cli',
      'data',
      'data IS NOT NULL',
      500,
    )) {
      const keys = [...new Set(page.map((row) => row.data))]
      await runBounded(keys, 8, async (key) => {
        const ok =
          task === 'verify' ? await storage.exists(key) : (await storage.verify(key)).verified
        if (!ok) throw new Error(`reference ${task}: ${key} failed`)
      })
      checked += page.length
    }
  } else if (task === 'gc') {
    let batch: string[] = []
    const flush = async (): Promise<void> => {
      const { rows } = await pool.query<{ data: string }>(
        'SELECT data FROM bench_cli WHERE data = ANY($1)',
        [batch],
      )
      const referenced = new Set(rows.map((row) => row.data))
      checked += batch.filter((key) => !referenced.has(key)).length
      batch = []
    }
    for await (const object of storage.list()) {
      batch.push(object.key)
      if (batch.length === 1000) await flush()
    }
    if (batch.length) await flush()
  } else if (task === 'migrate') {
    for await (const page of pages<{ content: Buffer }>(
      'bench_cli_migrate',
      'content',
      'data IS NULL AND content IS NOT NULL',
      200,
    )) {
      const keys = new Map<number, string>()
      await runBounded(page, 4, async (row) => {
        const sha256 = createHash('sha256').update(row.content).digest('hex')
        const written = await storage.write(row.content, { sha256 })
        const back = await hashStream(await storage.readStream(written.key))
        if (back.sha256 !== sha256) throw new Error('reference migrate: copy differs')
        keys.set(row.id, written.key)
      })
      // One UPDATE per batch, as a hand-written script would.
      await pool.query(
        'UPDATE bench_cli_migrate AS t SET data = v.key FROM unnest($1::int[], $2::text[]) AS v(id, key) WHERE t.id = v.id AND t.data IS NULL',
        [[...keys.keys()], [...keys.values()]],
      )
      checked += page.length
    }
  }
  return checked
}

async function attrstore(): Promise<number> {
  if (task === 'verify' || task === 'verify-checksums') {
    const report = await verify(dataSource, { checksums: task === 'verify-checksums' })
    if (report.problemCount) throw new Error(`verify found ${report.problemCount} problems`)
    return report.attributes.reduce((sum, attribute) => sum + attribute.rows, 0)
  }
  if (task === 'gc') {
    const report = await collectGarbage(dataSource, { graceMs: 0 })
    return report.stores.reduce((sum, store) => sum + store.orphans.count, 0)
  }
  const report = await migrate(dataSource, {
    entity: 'CliMigrate',
    attribute: 'data',
    from: { column: 'content' },
  })
  if (report.problemCount) throw new Error(`migrate found ${report.problemCount} problems`)
  return report.copied
}

const started = performance.now()
const cpuBefore = process.cpuUsage()
const checked = mode === 'attrstore' ? await attrstore() : await reference()
const ms = performance.now() - started
// CPU time (user + system, all threads: the thread pool's file system calls too): what the
// work cost, less sensitive than wall-clock time to what else the machine is doing.
const cpu = process.cpuUsage(cpuBefore)
await pool.end()
await dataSource.destroy()
process.stdout.write(
  `${JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, checked, maxRss: process.resourceUsage().maxRSS * 1024 })}\n`,
)
process.exit(0)
