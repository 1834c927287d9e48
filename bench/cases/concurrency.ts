/**
 * Many entities saved concurrently: does attrstore scale with the number in flight as the
 * raw SDK (+ INSERT) does? Throughput in saves per second.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { existingObject } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import { setStorage, stageUpload } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import { emptyPrefix, rawPut, type BenchContext } from '../lib/context.js'
import { ENTITIES, PlainKey, S3Eager } from '../lib/entities.js'
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
        // The pattern the typeorm README gives for large bodies, timed where its budget is.
        ...(level === 16
          ? {
              staged: () =>
                runBounded(items, level, async (i) => {
                  const data = await stageUpload(dataSource, S3Eager, 'data', blob)
                  await repository.save(repository.create({ name: `c-${i}`, data: data as never }))
                }),
            }
          : {}),
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
    if (times.staged) {
      const staged = summarize(throughput(times.staged))
      rows.push({
        id: `concurrency-staged-${level}`,
        label: `${plan.entities} saves, ${level} in flight, staged: stageUpload() then save`,
        unit: 'saves/s',
        attrstore: staged,
        reference,
        referenceLabel: 'raw SDK PutObject + INSERT',
        ratio: staged.median / reference.median,
        // TypeORM's own share: the same upload, then the same save of a plain column.
        breakdown: { 'upload + TypeORM save': typeorm },
        note: `the plain save (upload inside the transaction) in the same run: ${attrstore.median.toFixed(0)} saves/s`,
      })
    }
    await pool.query('TRUNCATE bench_raw, bench_s3_eager, bench_plain_key RESTART IDENTITY')
    await emptyPrefix(context, 'raw/')
    await emptyPrefix(context, 'attrstore/')
  }
  rows.push(...(await transactionHeld(context, plan, blob, items)))
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

/**
 * What holding a transaction (and so a pooled connection) during the upload costs: 16 saves
 * in flight on a pool of 4 connections, the upload inside `save` against the upload done
 * first, the transaction opened only once the bytes are stored: `stageUpload` (the unit of
 * work's own upload: no existence check) and, the older way, `storage.write` then
 * `existingObject(key)` (an import: a HEAD and an existence check before the commit).
 */
async function transactionHeld(
  context: BenchContext,
  plan: ConcurrencyPlan,
  blob: Buffer,
  items: number[],
): Promise<CaseResult[]> {
  const options = context.dataSource.options as { url: string }
  const small = new DataSource({
    type: 'postgres',
    url: options.url,
    entities: ENTITIES,
    extra: { max: 4 },
  })
  setStorage(small, S3Eager, 'data', context.s3Storage)
  await small.initialize()
  try {
    const repository = small.getRepository(S3Eager)
    const times = await timeMany(
      {
        inside: () =>
          runBounded(items, 16, (i) =>
            repository.save(repository.create({ name: `t-${i}`, data: blob })),
          ),
        staged: () =>
          runBounded(items, 16, async (i) => {
            const data = await stageUpload(small, S3Eager, 'data', blob)
            await repository.save(repository.create({ name: `t-${i}`, data: data as never }))
          }),
        before: () =>
          runBounded(items, 16, async (i) => {
            const { key } = await context.s3Storage.write(blob)
            await repository.save(
              repository.create({ name: `t-${i}`, data: existingObject(key) as never }),
            )
          }),
      },
      { reps: plan.reps, warmup: 1 },
    )
    const throughput = (ms: number[]): number[] => ms.map((value) => plan.entities / (value / 1000))
    const inside = summarize(throughput(times.inside!))
    const before = summarize(throughput(times.before!))
    const staged = summarize(throughput(times.staged!))
    return [
      {
        id: 'concurrency-tx-16',
        label: `${plan.entities} saves, 16 in flight, pool of 4: upload inside the transaction`,
        unit: 'saves/s',
        attrstore: inside,
        reference: before,
        referenceLabel: 'upload first, then save(existingObject(key))',
        ratio: inside.median / before.median,
      },
      {
        id: 'concurrency-tx-16-staged',
        label: `${plan.entities} saves, 16 in flight, pool of 4: stageUpload() then save`,
        unit: 'saves/s',
        attrstore: staged,
        reference: inside,
        referenceLabel: 'save, upload inside the transaction',
        ratio: staged.median / inside.median,
        breakdown: { 'upload first, then save(existingObject(key))': before },
      },
    ]
  } finally {
    await context.pool.query('TRUNCATE bench_s3_eager RESTART IDENTITY')
    await emptyPrefix(context, 'attrstore/')
    await small.destroy()
  }
}
