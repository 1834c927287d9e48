import { isAttrstoreError } from '@attrstore/core'

/** Node's module-not-found codes (ESM and CommonJS): a path or a package to fix or install. */
const MODULE_NOT_FOUND = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])

/** Whether `error` is an instance of a class named `name`, whichever copy of the package made it. */
function hasClassNamed(error: object, name: string): boolean {
  for (let at = Object.getPrototypeOf(error) as object | null; at; at = Object.getPrototypeOf(at))
    if ((at as { constructor?: { name?: unknown } }).constructor?.name === name) return true
  return false
}

/**
 * Whether the user's module, its database or its storages failed in a way the set-up is to
 * fix (reported on one line, exit status 2, nothing changed), rather than a bug (reported
 * with its stack, exit status 1):
 *
 * - an attrstore error (a storage refusing its options...);
 * - a connection or driver error: a system or driver `code` (`ECONNREFUSED`, `ENOTFOUND`,
 *   PostgreSQL's `28P01` or `3D000`, `SQLITE_CANTOPEN`...), a module not found, any of
 *   TypeORM's errors (`CannotConnectAlreadyConnectedError`, `DriverPackageNotInstalledError`,
 *   a missing entity metadata...), an `AggregateError` of those (every address tried);
 * - a plain `Error`, which code throws on purpose with a message meant for the user
 *   (`throw new Error('S3_BUCKET is not set')`).
 *
 * Anything else (a `TypeError`, a `ReferenceError`, a stack overflow's `RangeError`, Node's
 * own `ERR_*` errors) is a bug in the module or in attrstore.
 */
export function isSetupError(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  if (isAttrstoreError(error)) return true
  if (error instanceof AggregateError && error.errors.length)
    return error.errors.every(isSetupError)
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string' && (MODULE_NOT_FOUND.has(code) || !code.startsWith('ERR_')))
    return true
  if (hasClassNamed(error, 'TypeORMError')) return true
  return Object.getPrototypeOf(error) === Error.prototype
}

/**
 * A bug surfaced while loading the data source (`what` failed in the user's module): not a
 * set-up mistake, so its stack (the cause's) is what the report shows.
 */
export class DataSourceModuleBug extends Error {
  override name = 'DataSourceModuleBug'

  constructor(file: string, what: string, cause: unknown) {
    const message = `${file}: ${what}:`
    super(message, { cause })
    const detail = cause instanceof Error ? (cause.stack ?? String(cause)) : String(cause)
    this.stack = `${message}\n${detail}`
  }
}
