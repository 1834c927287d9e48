/**
 * The CLI's scans against plain scripts doing the same work (`cli-task.ts`), each in a
 * child process of its own, at growing row counts: time, peak RSS, CPU time, and how the
 * time grows with the rows.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { runBounded } from '@attrstore/core/driver'
import { firstJsonLine, spawnTs, type Components } from '../lib/components.js'
import type { BenchContext } from '../lib/context.js'
import type { CaseResult } from '../lib/result.js'
import { summarize } from '../lib/stats.js'

export const CLI_TASKS = ['verify', 'verify-checksums', 'gc', 'migrate'] as const
export type CliTask = (typeof CLI_TASKS)[number]

export interface CliPlan {
  /** Ascending row counts. */
  rows: number[]
  reps: number
  /** Bytes per object. */
  objectSize: number
}

interface TaskRun {
  ms: number
  /** User + system CPU time of the child's work (every thread). */
  cpuMs: number
  checked: number
  maxRss: number
}

export interface CliFigures {
  rows: CaseResult[]
  /** Task → row count → median ms of attrstore and of the reference. */
  times: Map<CliTask, Map<number, { attrstore: number; reference: number }>>
}

function run(components: Components, task: CliTask, mode: string, root: string): Promise<TaskRun> {
  return firstJsonLine<TaskRun>(spawnTs('cli-task.ts', [task, mode, root], components.childEnv))
}

/** Rows and objects from `from` to `to` (exclusive), and one unreferenced object in 20. */
async function grow(
  context: BenchContext,
  storage: BytesFileSystemStorage,
  from: number,
  to: number,
  size: number,
): Promise<void> {
  const body = randomBytes(size)
  const indexes = Array.from({ length: to - from }, (_, i) => from + i)
  for (let start = 0; start < indexes.length; start += 1000) {
    const slice = indexes.slice(start, start + 1000)
    const keys = new Map<number, string>()
    await runBounded(slice, 8, async (index) => {
      const chunk = Buffer.from(body)
      chunk.writeUInt32BE(index, 0)
      keys.set(index, (await storage.write(chunk)).key)
      if (index % 20 === 0) await storage.write(randomBytes(size)) // an orphan for gc
    })
    const values = slice.map((_, i) => `($${2 * i + 1}, $${2 * i + 2})`).join(', ')
    await context.pool.query(
      `INSERT INTO bench_cli (name, data) VALUES ${values}`,
      slice.flatMap((index) => [`row-${index}`, keys.get(index)!]),
    )
    await context.pool.query(
      `INSERT INTO bench_cli_migrate (name, content) SELECT 'row-' || g, decode(lpad(to_hex(g), 8, '0'), 'hex') || $3::bytea FROM generate_series($1::int, $2::int) g`,
      [slice[0], slice[slice.length - 1], body.subarray(4)],
    )
  }
  await context.pool.query('ANALYZE bench_cli')
  await context.pool.query('ANALYZE bench_cli_migrate')
}

export async function cliScans(
  components: Components,
  context: BenchContext,
  plan: CliPlan,
): Promise<CliFigures> {
  await context.pool.query('TRUNCATE bench_cli, bench_cli_migrate RESTART IDENTITY')
  const base = await mkdtemp(path.join(tmpdir(), 'attrstore-bench-cli-'))
  const root = path.join(base, 'store')
  const storage = new BytesFileSystemStorage({ root, fsync: false })
  const results: CaseResult[] = []
  const times: CliFigures['times'] = new Map(CLI_TASKS.map((task) => [task, new Map()]))
  let filled = 0
  try {
    for (const rows of plan.rows) {
      process.stderr.write(` (${rows.toLocaleString('en')} rows)`)
      await grow(context, storage, filled, rows, plan.objectSize)
      filled = rows
      for (const task of CLI_TASKS) {
        const runs: Record<'attrstore' | 'reference', TaskRun[]> = { attrstore: [], reference: [] }
        for (let i = 0; i < plan.reps; i++) {
          const order =
            i % 2 ? (['reference', 'attrstore'] as const) : (['attrstore', 'reference'] as const)
          for (const mode of order) {
            // migrate fills the column: each run starts from rows not migrated yet, into a fresh store.
            const destination = task === 'migrate' ? path.join(base, `migrate-${mode}-${i}`) : root
            if (task === 'migrate')
              await context.pool.query('UPDATE bench_cli_migrate SET data = NULL')
            const result = await run(components, task, mode, destination)
            if (task === 'migrate') await rm(destination, { recursive: true, force: true })
            runs[mode].push(result)
          }
        }
        const checked = new Set([...runs.attrstore, ...runs.reference].map((r) => r.checked))
        if (checked.size !== 1)
          throw new Error(
            `benchmark self-check failed: ${task} counted ${[...checked].join(' vs ')}`,
          )
        const ms = {
          attrstore: summarize(runs.attrstore.map((r) => r.ms)),
          reference: summarize(runs.reference.map((r) => r.ms)),
        }
        const cpu = {
          attrstore: summarize(runs.attrstore.map((r) => r.cpuMs)),
          reference: summarize(runs.reference.map((r) => r.cpuMs)),
        }
        const mib = (list: TaskRun[]): number[] => list.map((r) => r.maxRss / 1024 / 1024)
        const rss = {
          attrstore: summarize(mib(runs.attrstore)),
          reference: summarize(mib(runs.reference)),
        }
        times
          .get(task)!
          .set(rows, { attrstore: ms.attrstore.median, reference: ms.reference.median })
        const label = `attrstore ${task === 'verify-checksums' ? 'verify --checksums' : task === 'gc' ? 'gc (dry run)' : task === 'migrate' ? 'migrate --from-column' : 'verify'}, ${rows.toLocaleString('en')} rows`
        results.push(
          {
            id: `cli-${task}-${rows}`,
            label,
            unit: 'ms',
            attrstore: ms.attrstore,
            reference: ms.reference,
            referenceLabel: 'reference script',
            ratio: ms.attrstore.median / ms.reference.median,
          },
          {
            id: `cli-${task}-${rows}-rss`,
            label: `${label}, peak RSS`,
            unit: 'MiB RSS',
            attrstore: rss.attrstore,
            reference: rss.reference,
            referenceLabel: 'reference script',
            ratio: rss.attrstore.median / rss.reference.median,
          },
          {
            // Not a budget: the work's cost with less of the other load on the machine in it
            // (a wall-clock ratio of one run per mode swings with what else runs).
            id: `cli-${task}-${rows}-cpu`,
            label: `${label}, CPU time (user + system)`,
            unit: 'ms',
            attrstore: cpu.attrstore,
            reference: cpu.reference,
            referenceLabel: 'reference script',
            ratio: cpu.attrstore.median / cpu.reference.median,
          },
        )
      }
    }
  } finally {
    await rm(base, { recursive: true, force: true })
    await context.pool.query('TRUNCATE bench_cli, bench_cli_migrate RESTART IDENTITY')
  }
  return { rows: results, times }
}
