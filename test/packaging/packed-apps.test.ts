/**
 * The packages as a user installs them: every package is packed (`pnpm pack`), and two
 * applications outside the workspace install the tarballs with npm (so npm's choice of
 * better-sqlite3, by TypeORM's peer range), compile with `tsc` and run with plain `node`:
 *
 * - `test/apps/nest-cjs`: a NestJS application with the tsconfig `nest new` generates
 *   (CommonJS, node10 resolution, decorator metadata);
 * - `test/apps/esm`: an ES-module application (node16 resolution).
 *
 * Each saves and loads an entity through filesystem storage on SQLite, then runs
 * `npx attrstore stat` against its data source.
 *
 * `ATTRSTORE_PACKAGING_NODE` names the Node binary the applications run on (npm, tsc,
 * node, npx): CI runs this file under the stated Node floor as well. Skipped, saying why,
 * only when the npm registry cannot be reached.
 */
import { execFile } from 'node:child_process'
import {
  cpSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pack, publishedPackages, readManifest, root, type Tarball } from './tarballs.js'

const run = promisify(execFile)

const nodeBinary = process.env.ATTRSTORE_PACKAGING_NODE ?? process.execPath
const INSTALL_TIMEOUT = 8 * 60_000
const COMMAND_TIMEOUT = 2 * 60_000

/** The environment of the applications' commands: the chosen Node first, no workspace settings. */
function appEnvironment(dataDirectory: string): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {}
  for (const [name, value] of Object.entries(process.env)) {
    // pnpm's and vitest's settings of this run are not the application's.
    if (/^(npm_|pnpm_|VITEST|NODE_OPTIONS$|NODE_PATH$)/i.test(name)) continue
    environment[name] = value
  }
  environment.PATH = `${path.dirname(nodeBinary)}${path.delimiter}${process.env.PATH ?? ''}`
  // Native addons (better-sqlite3) build against the headers of the Node that runs them.
  const nodeHome = path.resolve(nodeBinary, '../..')
  if (existsSync(path.join(nodeHome, 'include/node/node.h')))
    environment.npm_config_nodedir = nodeHome
  // npm builds better-sqlite3 from source (its prebuilt binaries come from GitHub, not the
  // registry): unoptimised, it builds in a fraction of the time, and speed is not tested here.
  environment.CFLAGS = '-O0'
  environment.CXXFLAGS = '-O0'
  environment.npm_config_update_notifier = 'false'
  environment.APP_DATA = dataDirectory
  return environment
}

async function registryUnreachable(): Promise<string | undefined> {
  try {
    await run('npm', ['ping', '--fetch-timeout=15000', '--fetch-retries=0'], {
      timeout: 30_000,
      env: appEnvironment(tmpdir()),
    })
    return undefined
  } catch (error) {
    return `the npm registry is unreachable (${(error as Error).message.split('\n')[0]})`
  }
}

const unreachable = await registryUnreachable()
if (unreachable) console.warn(`[packaging] packed applications skipped: ${unreachable}`)

const workDirectory = mkdtempSync(path.join(tmpdir(), 'attrstore-packed-apps-'))
const tarballs = new Map<string, Tarball>()
const installs = new Map<string, Promise<AppRun>>()

const apps: Array<{ name: string; expected: string }> = [
  { name: 'nest-cjs', expected: 'hello from nest' },
  { name: 'esm', expected: 'hello from esm' },
]

beforeAll(async () => {
  const destination = path.join(workDirectory, 'tarballs')
  for (const directory of publishedPackages()) {
    const tarball = await pack(directory, destination)
    tarballs.set(tarball.name, tarball)
  }
  console.log(
    `[packaging] ${[...tarballs.values()].map((t) => `${t.name} ${(t.bytes / 1024).toFixed(1)} KiB`).join(', ')}`,
  )
  // Both applications install at once: most of the time goes to building better-sqlite3.
  if (unreachable) return
  for (const { name } of apps) {
    const install = installApp(name)
    install.catch(() => {}) // reported by the application's own tests
    installs.set(name, install)
  }
}, 5 * 60_000)

afterAll(() => rmSync(workDirectory, { recursive: true, force: true }))

describe('the packed tarballs', () => {
  it('hold the LICENSE, the README and every file the manifest points at', () => {
    expect(tarballs.size).toBe(publishedPackages().length)
    for (const directory of publishedPackages()) {
      const manifest = readManifest(directory)
      const tarball = tarballs.get(manifest.name)!
      const pointed = [manifest.main, manifest.types, ...Object.values(manifest.bin ?? {})]
      for (const target of Object.values(manifest.exports)) pointed.push(...leaves(target))
      for (const file of ['LICENSE', 'README.md', 'package.json', ...pointed]) {
        if (file === undefined || file.startsWith('./src/') || file === './package.json') continue
        expect(tarball.files, `${manifest.name} lacks ${file}`).toContain(file.replace(/^\.\//, ''))
      }
    }
  })
})

/** The file paths of an `exports` entry, every condition, the source one excepted. */
function leaves(target: unknown): string[] {
  if (typeof target === 'string') return [target]
  if (target === null || typeof target !== 'object') return []
  return Object.entries(target)
    .filter(([condition]) => condition !== '@attrstore/source')
    .flatMap(([, value]) => leaves(value))
}

interface AppRun {
  directory: string
  dataDirectory: string
  environment: NodeJS.ProcessEnv
  installSeconds: number
}

/** Copies the application out of the workspace, points it at the tarballs, installs it. */
async function installApp(name: string): Promise<AppRun> {
  const directory = path.join(workDirectory, name)
  cpSync(path.join(root, 'test/apps', name), directory, { recursive: true })
  const manifestFile = path.join(directory, 'package.json')
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as Record<
    string,
    Record<string, string>
  >
  for (const field of ['dependencies', 'devDependencies']) {
    for (const dependency of Object.keys(manifest[field] ?? {})) {
      const tarball = tarballs.get(dependency)
      if (tarball) manifest[field]![dependency] = `file:${tarball.file}`
    }
  }
  // The packages' own dependencies on each other (`@attrstore/core@^0.1.0`) come from the
  // tarballs too, not from the registry.
  manifest.overrides = Object.fromEntries(
    [...tarballs.values()].map((tarball) => [tarball.name, `file:${tarball.file}`]),
  )
  writeFileSync(manifestFile, JSON.stringify(manifest, null, 2))
  const dataDirectory = path.join(directory, 'var')
  const environment = appEnvironment(dataDirectory)
  const started = performance.now()
  await run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error'], {
    cwd: directory,
    env: environment,
    timeout: INSTALL_TIMEOUT,
  })
  return {
    directory,
    dataDirectory,
    environment,
    installSeconds: (performance.now() - started) / 1000,
  }
}

function command(app: AppRun, file: string, args: string[]) {
  return run(file, args, { cwd: app.directory, env: app.environment, timeout: COMMAND_TIMEOUT })
}

for (const { name, expected } of apps) {
  describe.skipIf(unreachable !== undefined)(`test/apps/${name} from the packed tarballs`, () => {
    let app: AppRun

    beforeAll(async () => {
      app = await installs.get(name)!
      const { stdout } = await command(app, nodeBinary, [
        '-p',
        `process.version + ' better-sqlite3 ' + require('better-sqlite3/package.json').version`,
      ])
      console.log(
        `[packaging] ${name}: npm install ${app.installSeconds.toFixed(0)} s, node ${stdout.trim()}`,
      )
    }, INSTALL_TIMEOUT + 30_000)

    it('compiles with tsc', async () => {
      await command(app, 'npx', ['--no-install', 'tsc', '-p', 'tsconfig.json'])
      expect(existsSync(path.join(app.directory, 'dist/main.js'))).toBe(true)
    })

    it('saves and loads an entity through the filesystem storage, with plain node', async () => {
      const { stdout } = await command(app, nodeBinary, ['dist/main.js'])
      const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
        name: string
        key: string
        content: string
      }
      expect(result.name).toBe('hello.txt')
      expect(result.content).toBe(expected)
      expect(result.key).toMatch(/\S/)
      // The bytes are in a file under the storage root, not in the row.
      const stored = readdirSync(path.join(app.dataDirectory, 'files'), { recursive: true })
        .map((entry) => path.join(app.dataDirectory, 'files', String(entry)))
        .filter((file) => statSync(file).isFile())
        .map((file) => readFileSync(file, 'utf8'))
      expect(stored).toContain(expected)
    })

    it('`npx attrstore stat` reports the stored attribute', async () => {
      const { stdout } = await command(app, 'npx', [
        '--no-install',
        'attrstore',
        'stat',
        '-d',
        'dist/data-source.js',
      ])
      // rows, rows with a key, objects: one each.
      expect(stdout).toMatch(/^Document\.content\s+file:\S+\s+1\s+1\s+1\s/m)
    })
  })
}
