/**
 * Counts per operation (SQL statements through TypeORM's logger and pg, S3 requests through
 * an SDK middleware) for attrstore against its TypeORM twin and the raw reference; then
 * runs each operation in a loop (for `node --cpu-prof`). Usage:
 *   PROFILE=counts|lazy|save1k|load1k|save1m|load1m|conc node --import tsx --conditions=@attrstore/source profile-overhead.ts
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { runBounded } from '@attrstore/core/driver'
import type { S3Client } from '@aws-sdk/client-s3'
import type { Logger } from 'typeorm'
import { startComponents } from './lib/components.js'
import { createContext, rawGet, rawPut, type BenchContext } from './lib/context.js'
import { PlainKey, S3Eager, S3Lazy } from './lib/entities.js'

const queries: string[] = []
let counting = false
const logger: Logger = {
  logQuery: (query) => void (counting && queries.push(query.replace(/\s+/g, ' ').slice(0, 110))),
  logQueryError: () => {},
  logQuerySlow: () => {},
  logSchemaBuild: () => {},
  logMigration: () => {},
  log: () => {},
}
const requests: string[] = []
function countRequests(client: S3Client, label: string): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (counting) {
        const request = args.request as { method?: string; headers?: Record<string, string> }
        const sums = Object.keys(request.headers ?? {}).filter((h) =>
          /checksum|md5|content-sha/i.test(h),
        )
        requests.push(`${label} ${context.commandName} ${request.method} [${sums.join(',')}]`)
      }
      return next(args)
    },
    { step: 'finalizeRequest', name: `count-${label}` },
  )
}

async function count(name: string, task: () => Promise<unknown>): Promise<void> {
  await task() // warm
  queries.length = 0
  requests.length = 0
  counting = true
  await task()
  counting = false
  console.log(`\n== ${name}: ${queries.length} SQL, ${requests.length} S3`)
  for (const q of queries) console.log(`  sql ${q}`)
  for (const r of requests) console.log(`  s3  ${r}`)
}

async function main(): Promise<void> {
  const components = await startComponents()
  const context: BenchContext = await createContext(components.postgres.url, components.s3)
  try {
    ;(context.dataSource as unknown as { logger: Logger }).logger = logger
    // TypeORM only logs when options.logging says so.
    ;(context.dataSource.options as { logging: unknown }).logging = true
    countRequests(context.s3Storage.client, 'attrstore')
    countRequests(context.s3, 'raw')
    const origQuery = context.pool.query.bind(context.pool)
    ;(context.pool as unknown as { query: unknown }).query = (...args: unknown[]) => {
      if (counting) queries.push(`raw-pg ${String(args[0]).slice(0, 100)}`)
      return (origQuery as (...a: unknown[]) => unknown)(...args)
    }
    const { dataSource, pool } = context
    const eager = dataSource.getRepository(S3Eager)
    const lazy = dataSource.getRepository(S3Lazy)
    const plain = dataSource.getRepository(PlainKey)
    const mode = process.env.PROFILE ?? 'counts'
    const size = mode.endsWith('1m') ? 1024 * 1024 : 1024
    const blob = randomBytes(size)
    // Lazy rows
    await pool.query(
      'TRUNCATE bench_raw, bench_s3_lazy, bench_plain_key, bench_s3_eager RESTART IDENTITY',
    )
    const values: string[] = []
    const parameters: string[] = []
    for (let i = 0; i < 1000; i++) {
      values.push(`($${2 * i + 1}, $${2 * i + 2})`)
      parameters.push(`file-${i}.bin`, randomUUID())
    }
    for (const table of ['bench_raw', 'bench_s3_lazy', 'bench_plain_key'])
      await pool.query(`INSERT INTO ${table} (name, data) VALUES ${values.join(', ')}`, parameters)
    const saveAttr = async () => (await eager.save(eager.create({ name: 'blob', data: blob }))).id
    const saveRaw = async () => {
      const key = `raw/${randomUUID()}`
      await rawPut(context, key, blob)
      await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', ['blob', key])
    }
    const saveTwin = async () => {
      const key = `raw/${randomUUID()}`
      await rawPut(context, key, blob)
      return (await plain.save(plain.create({ name: 'blob', data: key }))).id
    }
    const eagerId = await saveAttr()
    const plainId = await saveTwin()
    const rawKey = `raw/${randomUUID()}`
    await rawPut(context, rawKey, blob)
    const rawId = (
      await pool.query<{ id: number }>(
        'INSERT INTO bench_raw (name, data) VALUES ($1,$2) RETURNING id',
        ['b', rawKey],
      )
    ).rows[0]!.id
    const loadAttr = () => eager.findOneBy({ id: eagerId })
    const loadTwin = async () => rawGet(context, (await plain.findOneBy({ id: plainId }))!.data!)
    const loadRaw = async () => {
      const { rows } = await pool.query<{ data: string }>(
        'SELECT id, name, data FROM bench_raw WHERE id = $1',
        [rawId],
      )
      return rawGet(context, rows[0]!.data)
    }
    if (mode === 'counts') {
      await count('lazy find 1000 (attrstore)', () => lazy.find())
      await count('find 1000 (twin)', () => plain.find())
      await count('save (attrstore)', saveAttr)
      await count('save (twin)', saveTwin)
      await count('save (raw)', saveRaw)
      await count('load eager (attrstore)', loadAttr)
      await count('load (twin)', loadTwin)
      await count('load (raw)', loadRaw)
      return
    }
    const seconds = Number(process.env.SECONDS ?? 20)
    const tasks: Record<string, Array<() => Promise<unknown>>> = {
      lazy: [() => lazy.find(), () => plain.find()],
      save1k: [saveAttr, saveTwin, saveRaw],
      save1m: [saveAttr, saveTwin, saveRaw],
      load1k: [loadAttr, loadTwin, loadRaw],
      load1m: [loadAttr, loadTwin, loadRaw],
      conc: [
        () =>
          runBounded([...Array(200).keys()], 16, () =>
            eager.save(eager.create({ name: 'c', data: randomBytes(65536) })),
          ),
        () =>
          runBounded([...Array(200).keys()], 16, async () => {
            const key = `raw/${randomUUID()}`
            await rawPut(context, key, randomBytes(65536))
            await plain.save(plain.create({ name: 'c', data: key }))
          }),
        () =>
          runBounded([...Array(200).keys()], 16, async () => {
            const key = `raw/${randomUUID()}`
            await rawPut(context, key, randomBytes(65536))
            await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', ['c', key])
          }),
      ],
    }
    const list = tasks[mode]!
    const only = process.env.ONLY ? Number(process.env.ONLY) : undefined
    const times: number[][] = list.map(() => [])
    const cpu: number[][] = list.map(() => [])
    const end = performance.now() + seconds * 1000
    while (performance.now() < end) {
      for (let i = 0; i < list.length; i++) {
        if (only !== undefined && only !== i) continue
        const t = performance.now()
        const c = process.cpuUsage()
        await list[i]!()
        const used = process.cpuUsage(c)
        times[i]!.push(performance.now() - t)
        cpu[i]!.push((used.user + used.system) / 1000)
      }
    }
    const med = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)] ?? NaN
    console.log(
      mode,
      times
        .map(
          (t, i) =>
            `#${i} median ${med(t).toFixed(3)} ms, cpu ${med(cpu[i]!).toFixed(3)} ms n=${t.length}`,
        )
        .join('; '),
    )
  } finally {
    await context.close()
    await components.stop()
  }
}
await main()
