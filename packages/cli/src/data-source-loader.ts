import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import * as ownTypeorm from '@attrstore/typeorm'
import type { DataSource } from 'typeorm'
import type { Binding } from './bindings.js'
import { DataSourceModuleBug, isSetupError } from './setup-failure.js'
import { registerTypeScript } from './typescript-hooks.js'

export interface LoadDataSourceOptions {
  /**
   * The tsconfig.json used to compile a TypeScript data source (its `experimentalDecorators`
   * matters to TypeORM entities). Default: the nearest tsconfig.json above the file; `false`:
   * none.
   */
  tsconfig?: string | false | undefined
  /** Initialise the DataSource when the module did not. Default true. */
  initialize?: boolean | undefined
}

/** A DataSource loaded from the user's module, ready for the commands. */
export interface LoadedDataSource {
  dataSource: DataSource
  /** The absolute path of the module. */
  file: string
  /** Everything the module exports. */
  exports: Record<string, unknown>
  /** The stored attributes registered with `setStorage`, from the application's own copy of `@attrstore/typeorm`. */
  bindings(): Binding[]
  /** A storage the module exports under `name` (e.g. the old storage to migrate from). */
  storage(name: string): AttributeStorage
  /** Closes the DataSource (the commands own it once loaded). */
  destroy(): Promise<void>
}

const TYPESCRIPT = /\.(c|m)?tsx?$/

function isDataSource(value: unknown): value is DataSource {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as Record<string, unknown>)['@instanceof'] === Symbol.for('DataSource')
  )
}

/** Duck-typed: anything with the storage contract's methods. */
export function isStorage(value: unknown): value is AttributeStorage {
  if (typeof value !== 'object' || value === null) return false
  const probe = value as Record<string, unknown>
  return [
    'write',
    'read',
    'readStream',
    'stat',
    'exists',
    'delete',
    'deleteMany',
    'list',
    'verify',
  ].every((method) => typeof probe[method] === 'function')
}

function nearestTsconfig(directory: string): string | undefined {
  for (let at = directory; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'tsconfig.json')
    if (existsSync(candidate)) return candidate
    if (path.dirname(at) === at) return undefined
  }
}

/** The exports worth looking at: named ones, and those of a CommonJS `module.exports` object. */
function candidates(exported: Record<string, unknown>): Array<[string, unknown]> {
  const entries = Object.entries(exported)
  const fallback = exported.default
  if (
    typeof fallback === 'object' &&
    fallback !== null &&
    !isDataSource(fallback) &&
    !isStorage(fallback)
  ) {
    for (const [name, value] of Object.entries(fallback))
      if (!(name in exported)) entries.push([name, value])
  }
  return entries
}

async function findDataSource(
  exported: Record<string, unknown>,
  file: string,
): Promise<DataSource> {
  const found: DataSource[] = []
  for (const [name, value] of candidates(exported)) {
    if (name === 'configureStorages') continue
    // Exported promises (an async factory's result) are awaited, as TypeORM's CLI does.
    const resolved =
      value instanceof Promise
        ? await value.catch((error: unknown) => {
            throw moduleError(file, `its export "${name}" (a promise) rejected`, error)
          })
        : value
    if (isDataSource(resolved) && !found.includes(resolved)) found.push(resolved)
  }
  if (!found.length && typeof exported.default === 'function') {
    // A factory: `export default async () => new DataSource(...)`.
    let made: unknown
    try {
      made = await (exported.default as () => unknown)()
    } catch (error) {
      throw moduleError(file, 'its default-exported factory failed', error)
    }
    if (isDataSource(made)) found.push(made)
  }
  if (found.length === 1) return found[0]!
  throw new ConfigurationError(
    found.length
      ? `${file} exports ${found.length} DataSource instances: export exactly one.`
      : `${file} exports no DataSource: export one (default or named), a promise of one, or a default factory function returning one.`,
  )
}

/** What went wrong, on one line: an `AggregateError` (a connection tried on every address) says each cause. */
function describeError(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length)
    return [...new Set(error.errors.map(describeError))].join('; ')
  const message = error instanceof Error ? error.message || error.name : String(error)
  return message.split('\n')[0]!
}

/**
 * The user's module failed doing `what`: a configuration error naming the module and the
 * cause when the set-up is to blame, else (a bug) an error that keeps the cause's stack.
 */
function moduleError(file: string, what: string, error: unknown): Error {
  if (!isSetupError(error)) return new DataSourceModuleBug(file, what, error)
  return new ConfigurationError(`${file}: ${what}: ${describeError(error)}`, { cause: error })
}

function resolveFrom(parent: string, specifier: string): string | undefined {
  try {
    return createRequire(parent).resolve(specifier)
  } catch {
    return undefined
  }
}

/**
 * `storageBindings` of the copy of `@attrstore/typeorm` that the module itself imports
 * (registrations live in that copy): this CLI may be installed elsewhere than the
 * application.
 */
async function applicationBindings(file: string): Promise<(dataSource: DataSource) => Binding[]> {
  const own = ownTypeorm.storageBindings as (dataSource: DataSource) => Binding[]
  const theirPath = resolveFrom(file, '@attrstore/typeorm')
  if (
    theirPath === undefined ||
    theirPath === resolveFrom(fileURLToPath(import.meta.url), '@attrstore/typeorm')
  )
    return own
  let candidate: unknown
  try {
    candidate = ((await import(pathToFileURL(theirPath).href)) as { storageBindings?: unknown })
      .storageBindings
  } catch {
    return own
  }
  if (typeof candidate !== 'function' || candidate === own) return own
  const theirs = candidate as (dataSource: DataSource) => Binding[]
  return (dataSource) => {
    const found = theirs(dataSource)
    return found.length ? found : own(dataSource)
  }
}

/**
 * TypeORM's "Column type ... cannot be guessed" error, which means the entities were compiled
 * without decorator metadata: say what to do about it.
 */
function missingMetadataError(error: unknown, file: string): ConfigurationError | undefined {
  const message = (error as Error | undefined)?.message ?? ''
  if (!/emitDecoratorMetadata|cannot be guessed/.test(message)) return undefined
  return new ConfigurationError(
    `${message}\nThe entities of ${file} were compiled without decorator metadata. Either set ` +
      '"experimentalDecorators" and "emitDecoratorMetadata" in the tsconfig.json of the data source ' +
      '(or name one with --tsconfig), or compile the project first and pass the JavaScript file, ' +
      'e.g. `-d dist/data-source.js`.',
    { cause: error },
  )
}

/**
 * Loads a TypeORM DataSource the way the TypeORM CLI does (`-d path/to/data-source.ts`):
 *
 * - the module (`.ts`, `.mts`, `.cts`, `.js`, `.mjs`, `.cjs`; TypeScript compiled on the fly:
 *   by SWC when the tsconfig asks for `emitDecoratorMetadata`, which TypeORM needs to guess
 *   column types, `require`d in a CommonJS project, by tsx otherwise) exports exactly one
 *   DataSource instance, as its default export or a named one, or a promise of one, or a
 *   default factory function returning one (or a promise of one);
 * - the module registers storages itself (`setStorage(...)` at its top level works before
 *   `initialize()`), or exports `configureStorages(dataSource)`, called after initialisation;
 * - other exported storages can be named with `storage(name)` (e.g. `--from legacyFiles`).
 *
 * What the set-up gets wrong (a setting missing, a database unreachable) throws a
 * `ConfigurationError` naming the module; a bug (a `TypeError` in `configureStorages`)
 * throws an error that keeps the cause's stack.
 *
 * As TypeORM's CLI does, it turns `synchronize`, `migrationsRun` and `dropSchema` off
 * before initialising: these tools never change the schema.
 */
export async function loadDataSource(
  file: string,
  options: LoadDataSourceOptions = {},
): Promise<LoadedDataSource> {
  const absolute = path.resolve(file)
  if (!existsSync(absolute)) throw new ConfigurationError(`Data source file not found: ${absolute}`)
  if (typeof options.tsconfig === 'string' && !existsSync(path.resolve(options.tsconfig)))
    throw new ConfigurationError(`tsconfig file not found: ${path.resolve(options.tsconfig)}`)
  const hooks = TYPESCRIPT.test(absolute)
    ? await registerTypeScript(
        absolute,
        options.tsconfig ?? nearestTsconfig(path.dirname(absolute)) ?? false,
      )
    : undefined
  let exported: Record<string, unknown>
  try {
    // A CommonJS project's extension-less imports resolve only through require.
    exported = (
      hooks?.format === 'commonjs'
        ? createRequire(absolute)(absolute)
        : await import(pathToFileURL(absolute).href)
    ) as Record<string, unknown>
  } catch (error) {
    const metadata = missingMetadataError(error, absolute)
    if (metadata) throw metadata
    if (!isSetupError(error)) throw new DataSourceModuleBug(absolute, 'loading it failed', error)
    throw new ConfigurationError(
      `Unable to load the data source ${absolute}: ${(error as Error).message}`,
      { cause: error },
    )
  }
  const dataSource = await findDataSource(exported, absolute)
  if (!dataSource.isInitialized) {
    dataSource.setOptions({ synchronize: false, migrationsRun: false, dropSchema: false })
    if (options.initialize !== false) {
      try {
        await dataSource.initialize()
      } catch (error) {
        const metadata = missingMetadataError(error, absolute)
        if (metadata) throw metadata
        if (!isSetupError(error))
          throw new DataSourceModuleBug(absolute, 'initialising its DataSource failed', error)
        throw new ConfigurationError(
          `Cannot initialise the DataSource of ${absolute} (${dataSource.options.type}): ${describeError(error)}`,
          { cause: error },
        )
      }
    }
  }
  const configure =
    exported.configureStorages ??
    (exported.default as Record<string, unknown> | undefined)?.configureStorages
  if (typeof configure === 'function') {
    try {
      await (configure as (dataSource: DataSource) => unknown)(dataSource)
    } catch (error) {
      if (dataSource.isInitialized) await dataSource.destroy().catch(() => {})
      throw moduleError(absolute, 'its configureStorages(dataSource) failed', error)
    }
  }
  const bindingsOf = await applicationBindings(absolute)
  return {
    dataSource,
    file: absolute,
    exports: exported,
    bindings: () => bindingsOf(dataSource),
    storage(name) {
      const value = candidates(exported).find(([exportName]) => exportName === name)?.[1]
      if (!isStorage(value)) {
        const storages = candidates(exported)
          .filter(([, v]) => isStorage(v))
          .map(([n]) => n)
        throw new ConfigurationError(
          `${absolute} exports no storage named ${JSON.stringify(name)}` +
            (storages.length
              ? `; it exports: ${storages.join(', ')}`
              : ': export the storage to migrate from, e.g. `export const legacyFiles = new BytesFileSystemStorage({ root })`'),
        )
      }
      return value
    },
    async destroy() {
      if (dataSource.isInitialized) await dataSource.destroy()
    },
  }
}
