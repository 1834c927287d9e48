/** The database side of a test world: a throwaway PostgreSQL server, or SQLite files. */
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { DataSource, type DataSourceOptions } from 'typeorm'
import { scratchDirectory } from './scratch.js'

/** The databases a world can run on: SQLite (better-sqlite3) or PostgreSQL (pg). */
export type DatabaseKind = 'sqlite' | 'postgres'

/** One empty database of a {@link DatabaseServer}. */
export interface TestDatabase {
  kind: DatabaseKind
  /** A PostgreSQL connection URL, or the path of an SQLite file. */
  location: string
}

/** What TypeORM needs besides where the database is. */
export interface TestDataSourceOptions {
  /** The entity classes (or schemas) of the DataSource. */
  entities: NonNullable<DataSourceOptions['entities']>
  /** Create the tables from the entities on `initialize()`. Default true. */
  synchronize?: boolean
}

/** A database server (PostgreSQL) or a directory of database files (SQLite) for one test file. */
export interface DatabaseServer {
  kind: DatabaseKind
  /** Creates a new, empty database. */
  createDatabase(): Promise<TestDatabase>
  /** A DataSource, not yet initialised, on a new, empty database. */
  createDataSource(options: TestDataSourceOptions): Promise<DataSource>
  /** Stops the server, or deletes the SQLite files. */
  stop(): Promise<void>
}

/** The TypeORM options that reach `database` (driver `postgres` or `better-sqlite3`). */
export function dataSourceOptions(
  database: TestDatabase,
  options: TestDataSourceOptions,
): DataSourceOptions {
  const { entities, synchronize = true } = options
  return database.kind === 'postgres'
    ? { type: 'postgres', url: database.location, entities, synchronize }
    : { type: 'better-sqlite3', database: database.location, entities, synchronize }
}

/**
 * Starts what databases of `kind` need: a PostgreSQL server (`startPostgres()`, one
 * database per {@link DatabaseServer.createDatabase} call), or a scratch directory for
 * SQLite files (see {@link scratchDirectory}). Rejects with `PostgresUnavailableError` when
 * PostgreSQL cannot run here.
 */
export async function startDatabaseServer(kind: DatabaseKind): Promise<DatabaseServer> {
  let count = 0
  let createDatabase: () => Promise<TestDatabase>
  let stop: () => Promise<void>
  if (kind === 'postgres') {
    // Loaded on demand: an SQLite-only test does not load the PostgreSQL binaries' package.
    const { startPostgres } = await import('../postgres.js')
    const server = await startPostgres()
    createDatabase = async () => ({ kind, location: await server.createDatabase(`db_${++count}`) })
    stop = () => server.stop()
  } else {
    const directory = await scratchDirectory('attrstore-sqlite-')
    createDatabase = async () => ({ kind, location: path.join(directory, `db-${++count}.sqlite`) })
    stop = () => rm(directory, { recursive: true, force: true })
  }
  return {
    kind,
    createDatabase,
    async createDataSource(options) {
      return new DataSource(dataSourceOptions(await createDatabase(), options))
    },
    stop,
  }
}
