/**
 * The one build configuration of every published package: an ES module and a CommonJS
 * build of each entry point, with type declarations for both (`.d.ts` and `.d.cts`), so
 * the packages resolve under every TypeScript `moduleResolution` (node10, node16 in CJS
 * and ESM files, bundler) and from `import` and `require()` alike.
 *
 * The entry points are read from the package's `exports` map, whose `@attrstore/source`
 * condition names each subpath's TypeScript source: adding a subpath is adding its entry
 * to `exports`, nothing here. `test/packaging/manifests.test.ts` checks that each entry
 * has the shape this build emits, and `attw --pack` checks what TypeScript resolves.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import type { UserConfig } from 'tsdown'

type ExportsMap = Record<string, string | Record<string, unknown>>

/** `src/conformance/index.ts` -> `conformance/index`: the path of its outputs under `dist/`. */
function outputName(source: string): string {
  return path.posix.relative('src', source.replace(/^\.\//, '')).replace(/\.ts$/, '')
}

/** The source of every subpath of `exports` (its `@attrstore/source` condition), by output name. */
export function packageEntries(packageDirectory: string): Record<string, string> {
  const manifest = JSON.parse(
    readFileSync(path.join(packageDirectory, 'package.json'), 'utf8'),
  ) as {
    exports: ExportsMap
  }
  const entries: Record<string, string> = {}
  for (const target of Object.values(manifest.exports)) {
    if (typeof target !== 'object') continue
    const source = target['@attrstore/source']
    if (typeof source === 'string') entries[outputName(source)] = source
  }
  return entries
}

/**
 * tsdown's configuration for the package in `packageDirectory`: its `exports` entry points
 * in both formats, plus `esmOnly` entries (a CLI's `bin`, which awaits at its top level) as
 * ES modules only.
 */
export function attrstorePackage(
  packageDirectory: string,
  options: { esmOnly?: Record<string, string> } = {},
): UserConfig[] {
  const common = {
    cwd: packageDirectory,
    platform: 'node',
    target: 'node22',
    // `.js`/`.d.ts` for ESM (the packages are `"type": "module"`), `.cjs`/`.d.cts` for CJS.
    fixedExtension: false,
    sourcemap: true,
    tsconfig: 'tsconfig.json',
    // CommonJS is built on purpose (TypeScript CJS projects); plugin timings are noise.
    checks: { legacyCjs: false, pluginTimings: false },
  } satisfies UserConfig
  const configs: UserConfig[] = [
    { ...common, entry: packageEntries(packageDirectory), format: ['esm', 'cjs'], dts: true },
  ]
  if (options.esmOnly)
    configs.push({ ...common, entry: options.esmOnly, format: 'esm', dts: false, clean: false })
  return configs
}
