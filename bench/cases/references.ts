/**
 * What the post-commit reference checks cost:
 *
 * - an update and a removal in a table of `largeRows` rows against the same in a table of
 *   `smallRows` (each check looks the superseded key up in the key column: with the
 *   decorator's default index it should not grow with the table);
 * - `remove()` of 100 entities in one call against the same without attrstore (TypeORM's
 *   remove of rows holding plain keys, then one DeleteObjects).
 */
import { randomBytes, randomUUID } from 'node:crypto'
import type { Repository } from 'typeorm'
import { emptyPrefix, rawDeleteMany, rawPut, type BenchContext } from '../lib/context.js'
import { PlainKey, RefsLarge, RefsSmall, S3Eager } from '../lib/entities.js'
import { pairResult, type CaseResult } from '../lib/result.js'
import { timePair } from '../lib/stats.js'

export interface ReferencesPlan {
  smallRows: number
  largeRows: number
  reps: number
  warmup: number
  /** Entities removed in one call. */
  batch: number
  batchReps: number
}

async function fill(context: BenchContext, table: string, rows: number): Promise<void> {
  // Keys without objects: a check only reads the column. Inserted in slices to bound the
  // statement's memory.
  for (let start = 0; start < rows; start += 200_000) {
    const end = Math.min(rows, start + 200_000)
    await context.pool.query(
      `INSERT INTO ${table} (name, data) SELECT 'row-' || g, 'filler/' || md5(g::text) || '-' || g FROM generate_series($1::int, $2::int) g`,
      [start + 1, end],
    )
  }
  await context.pool.query(`ANALYZE ${table}`)
}

type RefsEntity = RefsSmall | RefsLarge

export async function referenceChecks(
  context: BenchContext,
  plan: ReferencesPlan,
): Promise<CaseResult[]> {
  const { dataSource, pool } = context
  await pool.query('TRUNCATE bench_refs_small, bench_refs_large RESTART IDENTITY')
  process.stderr.write(` (filling ${plan.largeRows.toLocaleString('en')} rows)`)
  await fill(context, 'bench_refs_small', plan.smallRows)
  await fill(context, 'bench_refs_large', plan.largeRows)
  const small = dataSource.getRepository(RefsSmall) as Repository<RefsEntity>
  const large = dataSource.getRepository(RefsLarge) as Repository<RefsEntity>
  const blob = randomBytes(1024)
  const total = plan.reps + plan.warmup
  const prepare = async (repository: Repository<RefsEntity>): Promise<RefsEntity[]> => {
    const entities: RefsEntity[] = []
    for (let i = 0; i < total + 1; i++)
      entities.push(await repository.save(repository.create({ name: 'subject', data: blob })))
    return entities
  }
  const [smallSubjects, largeSubjects] = [await prepare(small), await prepare(large)]
  const next = (list: RefsEntity[]): RefsEntity => {
    const entity = list.pop()
    if (!entity) throw new Error('benchmark: ran out of prepared entities')
    return entity
  }
  // Update: a new body for the same entity, the old object checked and deleted after commit.
  const updateSmall = smallSubjects[0]!
  const updateLarge = largeSubjects[0]!
  const update = await timePair(
    async () => {
      updateLarge.data = randomBytes(1024)
      await large.save(updateLarge)
    },
    async () => {
      updateSmall.data = randomBytes(1024)
      await small.save(updateSmall)
    },
    plan,
  )
  const removal = await timePair(
    async () => void (await large.remove(next(largeSubjects))),
    async () => void (await small.remove(next(smallSubjects))),
    { reps: plan.reps, warmup: plan.warmup - 1 },
  )

  // remove() of `batch` entities in one call, S3.
  const eager = dataSource.getRepository(S3Eager)
  const plain = dataSource.getRepository(PlainKey)
  const body = randomBytes(1024)
  const batchOfEntities = async (): Promise<S3Eager[]> =>
    eager.save(
      Array.from({ length: plan.batch }, (_, i) => eager.create({ name: `b-${i}`, data: body })),
    )
  const batchOfPlain = async (): Promise<PlainKey[]> => {
    const keys = Array.from({ length: plan.batch }, () => `raw/${randomUUID()}`)
    for (const key of keys) await rawPut(context, key, body)
    return plain.save(keys.map((key, i) => plain.create({ name: `b-${i}`, data: key })))
  }
  const prepared = { attrstore: [] as S3Eager[][], plain: [] as PlainKey[][] }
  for (let i = 0; i < plan.batchReps + 3; i++) {
    prepared.attrstore.push(await batchOfEntities())
    prepared.plain.push(await batchOfPlain())
  }
  const removePlain = async (): Promise<void> => {
    const rows = prepared.plain.pop()!
    const keys = rows.map((row) => row.data!)
    await plain.remove(rows)
    await rawDeleteMany(context, keys)
  }
  // Counted once, untimed: the statements each side sends (evidence load does not change),
  // after one call, so that a steady call is counted (the first asks each column's collation).
  await eager.remove(prepared.attrstore.pop()!)
  await removePlain()
  const counted = {
    attrstore: await statementsOf(context, () => eager.remove(prepared.attrstore.pop()!)),
    plain: await statementsOf(context, removePlain),
  }
  const batch = await timePair(
    async () => void (await eager.remove(prepared.attrstore.pop()!)),
    removePlain,
    { reps: plan.batchReps, warmup: 1 },
  )
  const left = await context.s3.send(
    new (await import('@aws-sdk/client-s3')).ListObjectsV2Command({
      Bucket: context.s3conn.bucket,
      Prefix: 'attrstore/',
    }),
  )
  if ((left.KeyCount ?? 0) !== 0)
    throw new Error(`benchmark self-check failed: remove() left ${left.KeyCount} objects behind`)
  await pool.query(
    'TRUNCATE bench_refs_small, bench_refs_large, bench_s3_eager, bench_plain_key RESTART IDENTITY',
  )
  await emptyPrefix(context, 'raw/')
  const rows = (n: number): string => n.toLocaleString('en')
  return [
    pairResult(
      'refs-update',
      `update 1 entity in ${rows(plan.largeRows)} rows`,
      `the same in ${rows(plan.smallRows)} rows`,
      update,
    ),
    pairResult(
      'refs-remove',
      `remove 1 entity from ${rows(plan.largeRows)} rows`,
      `the same from ${rows(plan.smallRows)} rows`,
      removal,
    ),
    {
      ...pairResult(
        'refs-remove-batch',
        `remove() of ${plan.batch} entities in one call, S3`,
        'TypeORM remove + one DeleteObjects',
        batch,
      ),
      note:
        `SQL statements per call: attrstore ${counted.attrstore.length} ` +
        `(after COMMIT: ${describeAfterCommit(counted.attrstore)}), ` +
        `reference ${counted.plain.length}; one DeleteObjects each`,
    },
  ]
}

/** The SQL statements `run` sends through the DataSource (TypeORM's logger sees each). */
async function statementsOf(context: BenchContext, run: () => Promise<unknown>): Promise<string[]> {
  const { logger } = context.dataSource
  const statements: string[] = []
  const logQuery = logger.logQuery.bind(logger)
  logger.logQuery = (query, parameters, queryRunner) => {
    statements.push(query)
    logQuery(query, parameters, queryRunner)
  }
  try {
    await run()
  } finally {
    logger.logQuery = logQuery
  }
  return statements
}

/** What the statements after COMMIT are: the clean-up's locks and reference checks. */
function describeAfterCommit(statements: string[]): string {
  const after = statements.slice(statements.findIndex((sql) => /^COMMIT/i.test(sql)) + 1)
  const kinds = after.map((sql) =>
    /pg_try_advisory_lock/.test(sql)
      ? 'try-locks'
      : /pg_advisory_unlock/.test(sql)
        ? 'unlock'
        : /LIKE/.test(sql)
          ? 'references (LIKE)'
          : /= ANY\(/.test(sql)
            ? `references (${sql.split('= ANY(').length - 1} columns in one statement${/>= o\.object/.test(sql) ? ', index ranges' : ''})`
            : 'other',
  )
  return kinds.join(', ') || 'none'
}
