import { execFile, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import os from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { setStorage } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Attachment, Document, ENTITIES } from './fixtures/entities.js'
import { collect, FIXTURES } from './support.js'

// TypeORM's peer range accepts better-sqlite3 ^12 and ^13 and npm picks 12: the CLI must
// report and exit 0 with both. The CLI runs as installed (the built bin, plain node).
const BUILT_BIN = path.join(import.meta.dirname, '..', 'dist', 'bin.js')
const DATA_SOURCE = path.join(FIXTURES, 'driver', 'data-source.ts')
const built = existsSync(BUILT_BIN)
if (!built) console.warn(`[skip] ${BUILT_BIN} is missing: run \`pnpm build\` first`)
const NPM_TIMEOUT_MS = 300_000

/** A directory whose node_modules holds better-sqlite3@<major>, installed by npm; undefined when npm cannot. */
async function installBetterSqlite3(major: number, into: string): Promise<string | undefined> {
  await mkdir(into, { recursive: true })
  await writeFile(path.join(into, 'package.json'), '{"private":true}\n')
  const npm = path.join(path.dirname(process.execPath), 'npm')
  try {
    await promisify(execFile)(
      existsSync(npm) ? npm : 'npm',
      ['install', '--no-audit', '--no-fund', '--no-save', `better-sqlite3@${major}`],
      {
        cwd: into,
        timeout: NPM_TIMEOUT_MS,
        env: { ...process.env, npm_config_update_notifier: 'false' },
      },
    )
  } catch (error) {
    console.warn(
      `[skip] better-sqlite3@${major}: npm install failed (registry unreachable?): ${String((error as Error).message).split('\n')[0]}`,
    )
    return undefined
  }
  return path.join(into, 'node_modules', 'better-sqlite3')
}

describe.skipIf(!built)('the CLI with every better-sqlite3 TypeORM accepts', () => {
  let work: string
  let env: Record<string, string>
  const drivers = new Map<number, string | undefined>()
  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), 'attrstore-better-sqlite3-'))
    const root = path.join(work, 'blobs')
    const database = path.join(work, 'app.sqlite')
    // Seeded with the repository's better-sqlite3: the schema is the same for every version.
    const dataSource = new DataSource({
      type: 'better-sqlite3',
      database,
      entities: ENTITIES,
      synchronize: true,
    })
    const files = new BytesFileSystemStorage({ root, fsync: false })
    setStorage(dataSource, Document, 'body', files)
    setStorage(dataSource, Attachment, 'content', files)
    await dataSource.initialize()
    const documents = dataSource.getRepository(Document)
    for (let n = 0; n < 30; n++)
      await documents.save(documents.create({ name: `doc-${n}`, body: Buffer.from(`body ${n}`) }))
    await dataSource.destroy()
    // An orphan old enough for gc to count it.
    await writeFile(path.join(root, 'orphan.bin'), 'unreferenced')
    const old = new Date(Date.now() - 3 * 24 * 3600_000)
    await utimes(path.join(root, 'orphan.bin'), old, old)
    env = { ATTRSTORE_TEST_DB: database, ATTRSTORE_TEST_ROOT: root }
    drivers.set(
      13,
      path.dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')),
    )
    drivers.set(12, await installBetterSqlite3(12, path.join(work, 'v12')))
  }, NPM_TIMEOUT_MS + 60_000)
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true })
  })

  for (const major of [12, 13]) {
    for (const command of ['stat', 'gc'] as const) {
      it(`${command} with better-sqlite3 ${major}: exit 0 and the report`, async (context) => {
        const driver = drivers.get(major)
        if (!driver) return context.skip(`better-sqlite3@${major} could not be installed`)
        const version = (
          createRequire(import.meta.url)(path.join(driver, 'package.json')) as {
            version: string
          }
        ).version
        expect(version.split('.')[0]).toBe(String(major))
        // Three runs: the abort it guards against was not every time on every machine.
        for (let run = 0; run < 3; run++) {
          const result = await collect(
            spawn(
              process.execPath,
              [BUILT_BIN, command, '-d', DATA_SOURCE, '--json', '--no-progress'],
              {
                env: {
                  ...process.env,
                  ...env,
                  ATTRSTORE_TEST_BETTER_SQLITE3: driver,
                  NO_COLOR: '1',
                },
                stdio: ['ignore', 'pipe', 'pipe'],
                timeout: 60_000,
              },
            ),
          )
          expect({ code: result.code, signal: result.signal, stderr: result.stderr }).toEqual({
            code: 0,
            signal: null,
            stderr: '',
          })
          const report = JSON.parse(result.stdout) as {
            stores: Array<{ orphans: { count: number }; objects?: { count: number } }>
          }
          expect(report.stores).toHaveLength(1)
          expect(report.stores[0]!.orphans.count).toBe(1)
        }
      }, 240_000)
    }
  }
})
