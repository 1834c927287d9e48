import { S3EngineUnavailableError, type S3Engine } from './engines.js'

/**
 * Throws {@link S3EngineUnavailableError} when this Node has no `node:sqlite` (before
 * 22.13 it needs `--experimental-sqlite`; `--no-experimental-sqlite` turns it off). fauxqs
 * keeps its state there, and would otherwise fail with a raw `ERR_UNKNOWN_BUILTIN_MODULE`.
 */
export function requireNodeSqlite(engine: S3Engine): void {
  if (process.getBuiltinModule('node:sqlite') !== undefined) return
  throw new S3EngineUnavailableError(
    engine,
    `it needs the node:sqlite module, which Node ${process.version} does not provide here (Node 22.13 or newer has it, unless run with --no-experimental-sqlite)`,
  )
}
