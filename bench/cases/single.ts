/**
 * One entity saved, then loaded eagerly, with blobs of each size: attrstore against the raw
 * SDK + SQL it wraps, with TypeORM alone in between, on S3 and on the filesystem; and the
 * same blobs in a bytea column.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdir, open, readFile } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { RAW_PART_SIZE, emptyPrefix, rawGet, rawPut, type BenchContext } from '../lib/context.js'
import { ByteaRow, FsEager, PlainKey, S3Eager } from '../lib/entities.js'
import { pairResult, type CaseResult } from '../lib/result.js'
import { formatSize, timeMany } from '../lib/stats.js'

export interface SizePlan {
  size: number
  reps: number
  warmup: number
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`benchmark self-check failed: ${what}`)
}

async function resetTables(context: BenchContext): Promise<void> {
  await context.pool.query(
    'TRUNCATE bench_raw, bench_s3_eager, bench_fs_eager, bench_plain_key, bench_bytea RESTART IDENTITY',
  )
}

export async function s3SaveLoad(context: BenchContext, plan: SizePlan): Promise<CaseResult[]> {
  const { dataSource, pool } = context
  const blob = randomBytes(plan.size)
  const size = formatSize(plan.size)
  const attrstore = dataSource.getRepository(S3Eager)
  const plain = dataSource.getRepository(PlainKey)
  let savedId = 0
  // A Buffer body, as an eager attribute holds. If the storage refuses it (S3Storage sends a
  // Buffer as one PutObject whatever its size; fauxqs refuses requests over 11 MiB), say so
  // and measure with a stream body, which goes multipart.
  let body: () => Buffer | Readable = () => blob
  let note: string | undefined
  try {
    savedId = (await attrstore.save(attrstore.create({ name: 'blob', data: blob }))).id
  } catch (error) {
    const reason = (error as Error).message.split('\n')[0]
    note = `a ${size} Buffer body FAILED (${reason}); measured with a Readable body instead`
    body = () => Readable.from([blob])
  }
  const save = await timeMany(
    {
      attrstore: async () => {
        const entity = await attrstore.save(
          attrstore.create({ name: 'blob', data: body() as Buffer }),
        )
        savedId = entity.id
      },
      raw: async () => {
        const key = `raw/${randomUUID()}`
        await rawPut(context, key, blob)
        await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', ['blob', key])
      },
      typeorm: async () => {
        const key = `raw/${randomUUID()}`
        await rawPut(context, key, blob)
        await plain.save(plain.create({ name: 'blob', data: key }))
      },
    },
    plan,
  )

  // Loads: one row of each kind, the same bytes.
  const rawKey = `raw/${randomUUID()}`
  await rawPut(context, rawKey, blob)
  const { rows } = await pool.query<{ id: number }>(
    'INSERT INTO bench_raw (name, data) VALUES ($1, $2) RETURNING id',
    ['blob', rawKey],
  )
  const rawId = rows[0]!.id
  const plainId = (await plain.save(plain.create({ name: 'blob', data: rawKey }))).id
  const loaded = await attrstore.findOneByOrFail({ id: savedId })
  if (note) process.stderr.write(`\n[bench] ${note}\n`)
  check(Buffer.compare(loaded.data!, blob) === 0, 'attrstore eager load returns the saved bytes')
  const load = await timeMany(
    {
      attrstore: async () => {
        const entity = await attrstore.findOneBy({ id: savedId })
        if (entity?.data?.length !== plan.size) throw new Error('attrstore load: wrong size')
      },
      raw: async () => {
        const { rows: found } = await pool.query<{ data: string }>(
          'SELECT id, name, data FROM bench_raw WHERE id = $1',
          [rawId],
        )
        const bytes = await rawGet(context, found[0]!.data)
        if (bytes.length !== plan.size) throw new Error('raw load: wrong size')
      },
      typeorm: async () => {
        const entity = await plain.findOneBy({ id: plainId })
        const bytes = await rawGet(context, entity!.data!)
        if (bytes.length !== plan.size) throw new Error('typeorm load: wrong size')
      },
    },
    plan,
  )
  await resetTables(context)
  await emptyPrefix(context, 'raw/')
  await emptyPrefix(context, 'attrstore/')
  const saved = pairResult(
    `save-s3-${plan.size}`,
    `save 1 entity, ${size}, S3`,
    plan.size > RAW_PART_SIZE ? 'multipart Upload + INSERT (pg)' : 'PutObject + INSERT (pg)',
    { subject: save.attrstore!, reference: save.raw! },
    { 'same upload + TypeORM save': save.typeorm! },
  )
  if (note) saved.note = note
  return [
    saved,
    pairResult(
      `load-s3-${plan.size}`,
      `load 1 entity, ${size}, S3, eager`,
      'SELECT (pg) + GetObject',
      { subject: load.attrstore!, reference: load.raw! },
      { 'TypeORM findOneBy + GetObject': load.typeorm! },
    ),
  ]
}

export async function fsSaveLoad(context: BenchContext, plan: SizePlan): Promise<CaseResult[]> {
  const { dataSource, pool, rawDir } = context
  await mkdir(rawDir, { recursive: true })
  const blob = randomBytes(plan.size)
  const size = formatSize(plan.size)
  const attrstore = dataSource.getRepository(FsEager)
  const plainSave = dataSource.getRepository(PlainKey)
  let savedId = 0
  const writeRaw = async (file: string): Promise<void> => {
    const handle = await open(file, 'wx')
    try {
      await handle.writeFile(blob)
      await handle.sync()
    } finally {
      await handle.close()
    }
  }
  // Like for like: what makes the new file's name survive a power cut too, as attrstore does.
  const writeRawDurably = async (file: string): Promise<void> => {
    await writeRaw(file)
    const directory = await open(path.dirname(file), 'r')
    try {
      await directory.sync()
    } finally {
      await directory.close()
    }
  }
  const save = await timeMany(
    {
      attrstore: async () => {
        savedId = (await attrstore.save(attrstore.create({ name: 'blob', data: blob }))).id
      },
      raw: async () => {
        const key = randomUUID()
        await writeRaw(path.join(rawDir, key))
        await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', ['blob', key])
      },
      typeorm: async () => {
        const key = randomUUID()
        await writeRaw(path.join(rawDir, key))
        await plainSave.save(plainSave.create({ name: 'blob', data: key }))
      },
      durable: async () => {
        const key = randomUUID()
        await writeRawDurably(path.join(rawDir, key))
        await pool.query('INSERT INTO bench_raw (name, data) VALUES ($1, $2)', ['blob', key])
      },
      durableTypeorm: async () => {
        const key = randomUUID()
        await writeRawDurably(path.join(rawDir, key))
        await plainSave.save(plainSave.create({ name: 'blob', data: key }))
      },
    },
    plan,
  )
  const rawKey = randomUUID()
  await writeRaw(path.join(rawDir, rawKey))
  const { rows } = await pool.query<{ id: number }>(
    'INSERT INTO bench_raw (name, data) VALUES ($1, $2) RETURNING id',
    ['blob', rawKey],
  )
  const rawId = rows[0]!.id
  const plain = dataSource.getRepository(PlainKey)
  const plainId = (await plain.save(plain.create({ name: 'blob', data: rawKey }))).id
  const load = await timeMany(
    {
      attrstore: async () => {
        const entity = await attrstore.findOneBy({ id: savedId })
        if (entity?.data?.length !== plan.size) throw new Error('attrstore load: wrong size')
      },
      typeorm: async () => {
        const entity = await plain.findOneBy({ id: plainId })
        const bytes = await readFile(path.join(rawDir, entity!.data!))
        if (bytes.length !== plan.size) throw new Error('typeorm load: wrong size')
      },
      raw: async () => {
        const { rows: found } = await pool.query<{ data: string }>(
          'SELECT id, name, data FROM bench_raw WHERE id = $1',
          [rawId],
        )
        const bytes = await readFile(path.join(rawDir, found[0]!.data))
        if (bytes.length !== plan.size) throw new Error('raw load: wrong size')
      },
    },
    plan,
  )
  await resetTables(context)
  return [
    pairResult(
      `save-fs-${plan.size}`,
      `save 1 entity, ${size}, filesystem`,
      'writeFile + fsync + INSERT',
      { subject: save.attrstore!, reference: save.raw! },
      {
        'writeFile + fsync + TypeORM save': save.typeorm!,
        'like for like, writeFile + fsync + fsync directory + INSERT': save.durable!,
        'writeFile + fsync + fsync directory + TypeORM save': save.durableTypeorm!,
      },
    ),
    pairResult(
      `load-fs-${plan.size}`,
      `load 1 entity, ${size}, filesystem`,
      'SELECT + readFile',
      { subject: load.attrstore!, reference: load.raw! },
      { 'TypeORM findOneBy + readFile': load.typeorm! },
    ),
  ]
}

export async function byteaSaveLoad(context: BenchContext, plan: SizePlan): Promise<CaseResult[]> {
  const repository = context.dataSource.getRepository(ByteaRow)
  const blob = randomBytes(plan.size)
  const size = formatSize(plan.size)
  let savedId = 0
  const save = await timeMany(
    {
      bytea: async () => {
        savedId = (await repository.save(repository.create({ name: 'blob', data: blob }))).id
      },
    },
    plan,
  )
  const load = await timeMany(
    {
      bytea: async () => {
        const entity = await repository.findOneBy({ id: savedId })
        if (entity?.data?.length !== plan.size) throw new Error('bytea load: wrong size')
      },
    },
    plan,
  )
  await resetTables(context)
  const { summarize } = await import('../lib/stats.js')
  return [
    {
      id: `save-bytea-${plan.size}`,
      label: `save 1 entity, ${size}, bytea column`,
      unit: 'ms',
      reference: summarize(save.bytea!),
      referenceLabel: 'TypeORM save, bytes in the row',
      note: 'what users do without attrstore',
    },
    {
      id: `load-bytea-${plan.size}`,
      label: `load 1 entity, ${size}, bytea column`,
      unit: 'ms',
      reference: summarize(load.bytea!),
      referenceLabel: 'TypeORM findOneBy, bytes in the row',
      note: 'what users do without attrstore',
    },
  ]
}
