/**
 * The public surface of every package, entry point by entry point, kept in
 * `export-names.json` next to this file, so that adding, moving or removing an exported
 * name is a visible diff in review. The entry points are read from each package's
 * `exports` map (its `@attrstore/source` condition), so a new entry point shows up too.
 * `values` are the runtime names (`Object.keys(await import(entry))`), `types` the names
 * that exist only for TypeScript (found by the compiler).
 *
 * After a deliberate change of the surface: `pnpm vitest run test/packaging/export-names.test.ts -u`.
 */
import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import * as prettier from 'prettier'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const root = path.resolve(import.meta.dirname, '../..')
const packagesDirectory = path.join(root, 'packages')
const snapshot = path.join(import.meta.dirname, 'export-names.json')

interface EntryPoint {
  /** What an application writes in its import, e.g. `@attrstore/core/driver`. */
  specifier: string
  /** The TypeScript source the entry point is built from. */
  source: string
}

interface Manifest {
  name: string
  exports?: Record<string, unknown>
}

function entryPoints(): EntryPoint[] {
  const entries: EntryPoint[] = []
  for (const directory of readdirSync(packagesDirectory).sort()) {
    const manifestPath = path.join(packagesDirectory, directory, 'package.json')
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as Manifest
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (subpath === './package.json') continue
      const source =
        typeof target === 'object' && target !== null
          ? (target as Record<string, unknown>)['@attrstore/source']
          : undefined
      if (typeof source !== 'string') {
        throw new Error(
          `${manifestPath}: exports["${subpath}"] has no "@attrstore/source" condition`,
        )
      }
      entries.push({
        specifier: subpath === '.' ? manifest.name : `${manifest.name}/${subpath.slice(2)}`,
        source: path.join(packagesDirectory, directory, source),
      })
    }
  }
  return entries.sort((a, b) => a.specifier.localeCompare(b.specifier))
}

/** Every name each source exports, types included, as the compiler sees them. */
function compiledExportNames(sources: string[]): Map<string, string[]> {
  const config = ts.readConfigFile(path.join(root, 'tsconfig.json'), (file) =>
    ts.sys.readFile(file),
  )
  const { options } = ts.parseJsonConfigFileContent(config.config, ts.sys, root)
  const program = ts.createProgram(sources, { ...options, noEmit: true })
  const checker = program.getTypeChecker()
  const names = new Map<string, string[]>()
  for (const source of sources) {
    const file = program.getSourceFile(source)
    const symbol = file && checker.getSymbolAtLocation(file)
    if (!symbol) throw new Error(`the compiler found no module in ${source}`)
    names.set(
      source,
      checker.getExportsOfModule(symbol).map((exported) => exported.getName()),
    )
  }
  return names
}

describe('the public surface', () => {
  it('every entry point exports the names recorded in export-names.json', async () => {
    const entries = entryPoints()
    const compiled = compiledExportNames(entries.map((entry) => entry.source))
    const surface: Record<string, { values: string[]; types: string[] }> = {}
    for (const { specifier, source } of entries) {
      const values = Object.keys((await import(source)) as object).sort()
      const types = (compiled.get(source) ?? []).filter((name) => !values.includes(name)).sort()
      surface[specifier] = { values, types }
    }
    // The entry points the packaging of attrstore promises, whatever the snapshot says.
    expect(Object.keys(surface)).toEqual(
      expect.arrayContaining([
        '@attrstore/attacher',
        '@attrstore/cli',
        '@attrstore/core',
        '@attrstore/core/conformance',
        '@attrstore/core/driver',
        '@attrstore/fs',
        '@attrstore/s3',
        '@attrstore/testing',
        '@attrstore/testing/world',
        '@attrstore/typeorm',
      ]),
    )
    // Formatted as the repository's prettier check wants the committed file.
    const text = await prettier.format(JSON.stringify(surface), {
      ...(await prettier.resolveConfig(snapshot)),
      filepath: snapshot,
    })
    await expect(text).toMatchFileSnapshot(snapshot)
  }, 120_000)
})
