/** 1,000 rows loaded with a lazy stored attribute: no downloads, so it should cost what the SELECT does. */
import { randomUUID } from 'node:crypto'
import { StoredContent } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import type { BenchContext } from '../lib/context.js'
import { PlainKey, S3Lazy } from '../lib/entities.js'
import { pairResult, type CaseResult } from '../lib/result.js'
import { timeMany } from '../lib/stats.js'

export async function lazyRows(
  context: BenchContext,
  options: { rows: number; reps: number; warmup: number },
): Promise<CaseResult[]> {
  const { dataSource, pool } = context
  await pool.query('TRUNCATE bench_raw, bench_s3_lazy, bench_plain_key RESTART IDENTITY')
  // The same rows in the three tables; keys need no objects: a lazy load downloads nothing.
  const values: string[] = []
  const parameters: string[] = []
  for (let i = 0; i < options.rows; i++) {
    values.push(`($${2 * i + 1}, $${2 * i + 2})`)
    parameters.push(`file-${i}.bin`, randomUUID())
  }
  for (const table of ['bench_raw', 'bench_s3_lazy', 'bench_plain_key']) {
    await pool.query(`INSERT INTO ${table} (name, data) VALUES ${values.join(', ')}`, parameters)
  }
  const lazy = dataSource.getRepository(S3Lazy)
  const plain = dataSource.getRepository(PlainKey)
  const sample = await lazy.find()
  if (sample.length !== options.rows || !(sample[0]!.data instanceof StoredContent)) {
    throw new Error('benchmark self-check failed: lazy rows load as StoredContent handles')
  }
  // TypeORM alone, on a DataSource attrstore is not installed on: there no subscriber fits
  // PlainKey, where on the shared one TypeORM builds a load event per row for attrstore's
  // subscriber (which returns at once for an entity without stored attributes).
  const alone = new DataSource({
    type: 'postgres',
    url: (dataSource.options as { url: string }).url,
    entities: [PlainKey],
    extra: { max: 2 },
  })
  await alone.initialize()
  const plainAlone = alone.getRepository(PlainKey)
  const times = await timeMany(
    {
      attrstore: async () => {
        if ((await lazy.find()).length !== options.rows)
          throw new Error('attrstore: wrong row count')
      },
      raw: async () => {
        if ((await pool.query('SELECT id, name, data FROM bench_raw')).rowCount !== options.rows)
          throw new Error('raw: wrong row count')
      },
      typeorm: async () => {
        if ((await plain.find()).length !== options.rows)
          throw new Error('typeorm: wrong row count')
      },
      alone: async () => {
        if ((await plainAlone.find()).length !== options.rows)
          throw new Error('typeorm alone: wrong row count')
      },
    },
    options,
  ).finally(() => alone.destroy())
  await pool.query('TRUNCATE bench_raw, bench_s3_lazy, bench_plain_key RESTART IDENTITY')
  return [
    pairResult(
      'lazy-rows',
      `load ${options.rows.toLocaleString('en')} rows, lazy`,
      'SELECT (pg)',
      { subject: times.attrstore!, reference: times.raw! },
      { 'TypeORM find, key as a plain column': times.typeorm! },
    ),
    pairResult(
      'lazy-rows-typeorm',
      `load ${options.rows.toLocaleString('en')} rows, lazy, against TypeORM`,
      'TypeORM find, key as a plain column',
      { subject: times.attrstore!, reference: times.typeorm! },
      { 'TypeORM find, plain column, DataSource without attrstore': times.alone! },
    ),
  ]
}
