/**
 * `pnpm exec attrstore` works where the README says it does: at the workspace root and in
 * packages/cli (the root depends on the workspace's @attrstore/cli; its `bin` is a file
 * of its own, so `pnpm install` links it before any build). Needs the build.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { pnpmCommand, root } from './tarballs.js'

const run = promisify(execFile)

describe('pnpm exec attrstore', () => {
  for (const directory of ['.', 'packages/cli']) {
    it(`prints the usage in ${directory}`, async () => {
      const [command, prefix] = pnpmCommand()
      const { stdout } = await run(command, [...prefix, 'exec', 'attrstore', '--help'], {
        cwd: path.join(root, directory),
        timeout: 60_000,
      })
      expect(stdout).toMatch(/^Usage: attrstore <command>/m)
      for (const name of ['migrate', 'gc', 'verify', 'stat']) expect(stdout).toContain(name)
    })
  }

  it('prints the version of the built, bundled CLI', async () => {
    const [command, prefix] = pnpmCommand()
    const { stdout } = await run(command, [...prefix, 'exec', 'attrstore', '--version'], {
      cwd: root,
      timeout: 60_000,
    })
    const manifest = JSON.parse(
      await readFile(path.join(root, 'packages/cli/package.json'), 'utf8'),
    ) as { version: string }
    expect(stdout.trim()).toBe(manifest.version)
  })
})
