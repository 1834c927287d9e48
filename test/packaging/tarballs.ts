/**
 * The published packages as a user receives them: `pnpm pack` of each (workspace ranges
 * replaced by versions, only the `files` of its manifest), and the files in each tarball.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export const root = path.resolve(import.meta.dirname, '../..')

/** The directories of the published packages (the private ones are not packed). */
export function publishedPackages(): string[] {
  return readdirSync(path.join(root, 'packages'))
    .map((name) => path.join(root, 'packages', name))
    .filter((directory) => existsSync(path.join(directory, 'package.json')))
    .filter((directory) => !readManifest(directory).private)
}

export interface PackageManifest {
  name: string
  version: string
  private?: boolean
  main?: string
  types?: string
  bin?: Record<string, string>
  exports: Record<string, string | Record<string, unknown>>
  [field: string]: unknown
}

export function readManifest(directory: string): PackageManifest {
  return JSON.parse(readFileSync(path.join(directory, 'package.json'), 'utf8')) as PackageManifest
}

export interface Tarball {
  name: string
  file: string
  bytes: number
  /** Paths inside the package (`package/` stripped). */
  files: string[]
}

/** The pnpm that runs this test run, else the one on PATH. */
export function pnpmCommand(): [string, string[]] {
  const execPath = process.env.npm_execpath
  if (execPath && /pnpm/.test(path.basename(execPath)) && execPath.endsWith('.cjs'))
    return [process.execPath, [execPath]]
  return ['pnpm', []]
}

/** Packs `directory` into `destination` with `pnpm pack`. */
export async function pack(directory: string, destination: string): Promise<Tarball> {
  const [command, prefix] = pnpmCommand()
  const { stdout } = await run(
    command,
    [...prefix, 'pack', '--json', '--pack-destination', destination],
    { cwd: directory, timeout: 120_000 },
  )
  const packed = JSON.parse(stdout) as {
    name: string
    filename: string
    files: Array<{ path: string }>
  }
  const file = path.isAbsolute(packed.filename)
    ? packed.filename
    : path.join(destination, path.basename(packed.filename))
  return {
    name: packed.name,
    file,
    bytes: statSync(file).size,
    files: packed.files.map((entry) => entry.path),
  }
}
