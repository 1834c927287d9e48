/**
 * Many entities saved concurrently: does attrstore scale with the number in flight as the
 * raw SDK (+ INSERT) does? Throughput in saves per second.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { runBounded } from '@attrstore/core/driver'
import { emptyPrefix, rawPut, type BenchContext } from '../lib/context.js'
import { PlainKey, S3Eager } from '../lib/entities.js'
import type { CaseResult } from '../lib/result.js'
import { summarize, timeMany } from '../lib/stats.js'

export interface ConcurrencyPlan {
  entities: number
  blobSize: number
  levels: number[]
  reps: number
}

export interface ConcurrencyResult {
  rows: CaseResult[]
  /** In-flight level → attrstore's and the raw SDK's speed-up over one in flight. */
  scaling: Record<number, { attrstore: number; raw: number; typeorm: number; ratio: number }>
}

export async function concurrentSaves(
  context: BenchContext,
  plan: ConcurrencyPlan,
): Promise<ConcurrencyResult> {
  const { dataSource, pool } = context
  const repository = dataSource.getRepository(S3Eager)
  const plain = dataSource.getRepository(PlainKey)
  const blob = randomBytes(plan.blobSize)
  const items = Array.from({ length: plan.entities }, (_, i) => i)
  const rows: CaseResult[] = []
  const medians: Record<number, { attrstore: number; raw: number; typeorm: number }> = {}
  for (const level of plan.levels) {
    const times = await timeMany(
      {
        attrstore: () =>
          runBounded(items, level, (i) =>
            repository.save(repository.create({ name: `c-${i}`, data: blob })),
          ),
        raw: () =>
          runBounded(items, level, async (i) => {
            const key = `raw/${randomUUID()}`
            await rawPut(context, key, blob)
            await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', [`c-${i}`, key])
          }),
        typeorm: () =>
          runBounded(items, level, async (i) => {
            const key = `raw/${randomUUID()}`
            await rawPut(context, key, blob)
            await plain.save(plain.create({ name: `c-${i}`, data: key }))
          }),
      },
      { reps: plan.reps, warmup: level === plan.levels[0] ? 1 : 0 },
    )
    const throughput = (ms: number[]): number[] => ms.map((value) => plan.entities / (value / 1000))
    const attrstore = summarize(throughput(times.attrstore!))
    const reference = summarize(throughput(times.raw!))
    const typeorm = summarize(throughput(times.typeorm!))
    medians[level] = { attrstore: attrstore.median, raw: reference.median, typeorm: typeorm.median }
    rows.push({
      id: `concurrency-${level}`,
      label: `${plan.entities} saves, ${level} in flight`,
      unit: 'saves/s',
      attrstore,
      reference,
      referenceLabel: 'raw SDK PutObject + INSERT',
      ratio: attrstore.median / reference.median,
      breakdown: { 'upload + TypeORM save': typeorm },
    })
    await pool.query('TRUNCATE bench_raw, bench_s3_eager, bench_plain_key RESTART IDENTITY')
    await emptyPrefix(context, 'raw/')
    await emptyPrefix(context, 'attrstore/')
  }
  const base = medians[plan.levels[0]!]!
  const scaling: ConcurrencyResult['scaling'] = {}
  for (const level of plan.levels) {
    const at = medians[level]!
    const attrstore = at.attrstore / base.attrstore
    const raw = at.raw / base.raw
    const typeorm = at.typeorm / base.typeorm
    scaling[level] = { attrstore, raw, typeorm, ratio: attrstore / raw }
    const row = rows.find((candidate) => candidate.id === `concurrency-${level}`)!
    row.note =
      `speed-up over 1 in flight: attrstore ${attrstore.toFixed(2)}x, raw ${raw.toFixed(2)}x, ` +
      `upload + TypeORM save ${typeorm.toFixed(2)}x (scaling ratio attrstore/raw ${(attrstore / raw).toFixed(2)})`
  }
  return { rows, scaling }
}
