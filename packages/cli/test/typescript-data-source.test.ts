import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, FIXTURES } from './support.js'

// The CLI as installed: the built bin run by plain node, so that the data source's
// TypeScript goes through the CLI's own loader (the tests' tsx launcher would hide it).
// better-sqlite3 has no types of its own: the little used here.
interface SqliteDatabase {
  exec(sql: string): void
  prepare(sql: string): { run(...values: unknown[]): unknown }
  close(): void
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  file: string,
) => SqliteDatabase

const BUILT_BIN = path.join(import.meta.dirname, '..', 'dist', 'bin.js')
const FIXTURE = path.join(FIXTURES, 'decorator-metadata')
const built = existsSync(BUILT_BIN)
if (!built) console.warn(`[skip] ${BUILT_BIN} is missing: run \`pnpm build\` first`)

/** A SQLite database with the table of the fixtures' `File` entity, two rows in it. */
function useFileDatabase(): { env: () => Record<string, string> } {
  let directory: string
  let env: Record<string, string>
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'attrstore-ts-data-source-'))
    const database = path.join(directory, 'app.sqlite')
    const db = new Database(database)
    db.exec(
      'CREATE TABLE "file" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "name" varchar NOT NULL, "content" varchar)',
    )
    db.prepare('INSERT INTO "file" ("name") VALUES (?), (?)').run('a.pdf', 'b.pdf')
    db.close()
    env = { ATTRSTORE_TEST_DB: database, ATTRSTORE_TEST_ROOT: path.join(directory, 'blobs') }
  })
  afterAll(async () => {
    if (directory) await rm(directory, { recursive: true, force: true })
  })
  return { env: () => env }
}

/** The built CLI run by plain node in `cwd`. */
function runBuilt(cwd: string, env: Record<string, string>, args: string[]) {
  return collect(
    spawn(process.execPath, [BUILT_BIN, ...args], {
      cwd,
      env: { ...process.env, ...env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    }),
  )
}

describe.skipIf(!built)('a NestJS-style TypeScript data source (@Column() name: string)', () => {
  const database = useFileDatabase()
  const run = (args: string[]) => runBuilt(FIXTURE, database.env(), args)

  it('is compiled with decorator metadata when its tsconfig asks for it', async () => {
    const result = await run(['stat', '-d', 'data-source.ts', '--json', '--no-progress'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { attributes: Array<Record<string, unknown>> }
    expect(report.attributes).toMatchObject([{ entity: 'File', attribute: 'content', rows: 2 }])
  }, 90_000)

  it('without emitDecoratorMetadata, fails with one line that says what to do', async () => {
    const result = await run([
      'stat',
      '-d',
      'data-source.ts',
      '--tsconfig',
      'tsconfig.no-metadata.json',
      '--no-progress',
    ])
    expect(result.code).toBe(2)
    expect(result.stderr).toMatch(/Column type for File#name is not defined/)
    expect(result.stderr).toMatch(/emitDecoratorMetadata/)
    expect(result.stderr).toContain('-d dist/data-source.js')
    expect(result.stderr).not.toMatch(/^\s+at /m)
  }, 90_000)
})

describe.skipIf(!built)('a CommonJS NestJS project (module commonjs, no "type")', () => {
  const database = useFileDatabase()

  it('loads its data source and extension-less entity imports through require', async () => {
    const result = await runBuilt(path.join(FIXTURES, 'nest-commonjs'), database.env(), [
      'stat',
      '-d',
      'src/data-source.ts',
      '--json',
      '--no-progress',
    ])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { attributes: Array<Record<string, unknown>> }
    expect(report.attributes).toMatchObject([{ entity: 'File', attribute: 'content', rows: 2 }])
  }, 90_000)
})
