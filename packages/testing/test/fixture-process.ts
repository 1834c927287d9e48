import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { createInterface } from 'node:readline'

/** Runs `fixtures/<name>` (TypeScript, through tsx, against the sources) in a child process. */
export function spawnFixture(name: string): ChildProcess & { stdout: NodeJS.ReadableStream } {
  return spawn(
    process.execPath,
    [
      '--conditions=@attrstore/source',
      '--import',
      'tsx',
      path.join(import.meta.dirname, 'fixtures', name),
    ],
    { cwd: path.resolve(import.meta.dirname, '../../..'), stdio: ['ignore', 'pipe', 'inherit'] },
  ) as ChildProcess & { stdout: NodeJS.ReadableStream }
}

/**
 * The first line the child prints, parsed as JSON, within `timeoutMs`; the child is killed
 * if it exits first or the time runs out.
 */
export async function firstJsonLine<T>(
  child: ChildProcess & { stdout: NodeJS.ReadableStream },
  what: string,
  timeoutMs: number,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    new Promise<T>((resolve, reject) => {
      createInterface({ input: child.stdout }).once('line', (line) =>
        resolve(JSON.parse(line) as T),
      )
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
