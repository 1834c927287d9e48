/**
 * The manifests of the published packages say what a registry user needs: the license
 * (and its file), where the code and the issues are, the Node floor the workspace states,
 * an `exports` entry per subpath in the shape the build emits (see
 * build/tsdown-package.ts), and membership of the release group of the changesets.
 */
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { publishedPackages, readManifest, root } from './tarballs.js'

const REPOSITORY = 'https://github.com/attrstore/attrstore'
const workspace = readManifest(root)

/** The outputs of the source `./src/<name>.ts`, as `build/tsdown-package.ts` names them. */
function builtEntry(source: string) {
  const name = source.replace(/^\.\/src\//, '').replace(/\.ts$/, '')
  return {
    '@attrstore/source': source,
    import: { types: `./dist/${name}.d.ts`, default: `./dist/${name}.js` },
    require: { types: `./dist/${name}.d.cts`, default: `./dist/${name}.cjs` },
  }
}

describe('published package manifests', () => {
  for (const directory of publishedPackages()) {
    const manifest = readManifest(directory)
    const relative = path.relative(root, directory)

    it(`${manifest.name}: license, repository, homepage, bugs, Node floor`, () => {
      expect(manifest.license).toBe('MIT')
      expect(readFileSync(path.join(directory, 'LICENSE'), 'utf8')).toMatch(
        /^MIT License\n\nCopyright \(c\) 2026 attrstore contributors\n/,
      )
      expect(manifest.repository).toEqual({
        type: 'git',
        url: `git+${REPOSITORY}.git`,
        directory: relative,
      })
      expect(manifest.homepage).toBe(`${REPOSITORY}/tree/main/${relative}#readme`)
      expect(manifest.bugs).toEqual({ url: `${REPOSITORY}/issues` })
      expect(manifest.engines).toEqual(workspace.engines)
    })

    it(`${manifest.name}: every subpath has its ESM and CJS builds and their types`, () => {
      expect(manifest.main).toBe('./dist/index.cjs')
      expect(manifest.types).toBe('./dist/index.d.cts')
      const typesVersions: Record<string, string[]> = {}
      for (const [subpath, target] of Object.entries(manifest.exports)) {
        if (subpath === './package.json') continue
        const source = (target as Record<string, unknown>)['@attrstore/source'] as string
        expect(existsSync(path.join(directory, source)), `${subpath}: ${source}`).toBe(true)
        expect(target, subpath).toEqual(builtEntry(source))
        // node10 resolution knows no `exports`: subpaths reach their types this way.
        if (subpath !== '.') typesVersions[subpath.slice(2)] = [builtEntry(source).require.types]
      }
      if (Object.keys(typesVersions).length)
        expect(manifest.typesVersions).toEqual({ '*': typesVersions })
      else expect(manifest.typesVersions).toBeUndefined()
    })
  }

  it('the changesets release every published package together, and no other', () => {
    const config = JSON.parse(readFileSync(path.join(root, '.changeset/config.json'), 'utf8')) as {
      fixed: string[][]
    }
    const published = publishedPackages().map((directory) => readManifest(directory).name)
    expect([...config.fixed[0]!].sort()).toEqual(published.sort())
  })

  it('every workspace manifest states the same Node floor', () => {
    const manifests = ['examples/file-archive', 'bench', 'test'].map((directory) =>
      readManifest(path.join(root, directory)),
    )
    for (const manifest of manifests)
      expect(manifest.engines, manifest.name).toEqual(workspace.engines)
    expect(workspace.engines).toEqual({ node: '^22.22.0 || >=24.11.0' })
  })
})
