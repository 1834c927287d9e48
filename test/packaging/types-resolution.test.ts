/**
 * What TypeScript resolves for each published package, under every `moduleResolution` a
 * user may have (node10: a stock NestJS tsconfig; node16 from CJS and from ESM files;
 * bundler): `@arethetypeswrong/cli` (`attw --pack`) must find no problem in any entry
 * point. Needs the build (`pnpm test` builds first).
 */
import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { publishedPackages, readManifest, root } from './tarballs.js'

const run = promisify(execFile)
const attw = path.join(root, 'node_modules/.bin/attw')

interface AttwReport {
  analysis: {
    entrypoints: Record<
      string,
      { resolutions: Record<string, { resolution?: { fileName: string } }> }
    >
  }
  problems: Record<string, unknown[]> | unknown[]
}

describe('types resolve under every module resolution (attw)', () => {
  for (const directory of publishedPackages()) {
    const manifest = readManifest(directory)
    it(`${manifest.name}: no problem for node10, node16 (CJS and ESM) and bundler`, async () => {
      // attw exits non-zero when it finds a problem; the report says which.
      const { stdout } = await run(attw, ['--pack', '.', '--format', 'json'], {
        cwd: directory,
        timeout: 120_000,
        maxBuffer: 64 * 1024 * 1024,
      }).catch((error: { stdout?: string }) => ({ stdout: error.stdout ?? '' }))
      const report = JSON.parse(stdout) as AttwReport
      const problems = Object.values(report.problems).flat()
      expect(problems, JSON.stringify(report.problems, null, 2)).toEqual([])
      const subpaths = Object.keys(manifest.exports).filter(
        (subpath) => subpath !== './package.json',
      )
      for (const subpath of subpaths) {
        const entry = report.analysis.entrypoints[subpath]
        expect(entry, `${manifest.name} ${subpath} not analysed`).toBeDefined()
        for (const kind of ['node10', 'node16-cjs', 'node16-esm', 'bundler']) {
          expect(entry!.resolutions[kind]?.resolution?.fileName, `${subpath} ${kind}`).toMatch(
            /\.d\.c?ts$/,
          )
        }
      }
    })
  }
})
