/**
 * Child processes for crash tests: a TypeScript fixture that works until it is killed
 * (SIGKILL mid-write, mid-upload...), and the JSON line it prints once it is under way.
 */
import { spawn, type ChildProcessByStdio } from 'node:child_process'
import { createInterface } from 'node:readline'
import type { Readable } from 'node:stream'

/** A fixture's child process: stdout piped; stderr piped too when asked for. */
export type FixtureProcess = ChildProcessByStdio<null, Readable, Readable | null>

export interface SpawnFixtureOptions {
  /** `'inherit'` (default): the child's stderr goes to this process's; `'pipe'`: to `child.stderr`. */
  stderr?: 'inherit' | 'pipe'
  /** Working directory, where `tsx` resolves from (default `process.cwd()`). */
  cwd?: string
}

/**
 * Runs the TypeScript file `script` with `args` in a child Node process, through `tsx`
 * (which must resolve from `cwd`) and with the `@attrstore/source` export condition, so
 * that workspace packages load from their sources.
 */
export function spawnFixture(
  script: string,
  args: readonly string[] = [],
  options: SpawnFixtureOptions = {},
): FixtureProcess {
  const argv = ['--conditions=@attrstore/source', '--import', 'tsx', script, ...args]
  const cwd = options.cwd ?? process.cwd()
  return options.stderr === 'pipe'
    ? spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(process.execPath, argv, { cwd, stdio: ['ignore', 'pipe', 'inherit'] })
}

/**
 * The first line the child prints, parsed as JSON, within `timeoutMs`; the child is killed
 * (SIGKILL) if it exits first, prints something else or the time runs out.
 */
export async function firstJsonLine<T>(
  child: FixtureProcess,
  what: string,
  timeoutMs: number,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    new Promise<T>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) => {
        try {
          resolve(JSON.parse(line) as T)
        } catch {
          reject(new Error(`the child printed ${JSON.stringify(line)}, not the ${what} as JSON`))
        }
      })
      child.once('exit', (code) => reject(new Error(`the child exited early (${code})`)))
    }),
    new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no ${what} within ${timeoutMs / 1000} s`)),
        timeoutMs,
      )
    }),
  ])
    .catch((error: unknown) => {
      child.kill('SIGKILL')
      throw error
    })
    .finally(() => clearTimeout(timer))
}
