import type { ChildProcess } from 'node:child_process'

/**
 * Asks a child process to stop (`ask`: a signal, or closing its stdin), and kills it with
 * SIGKILL if it is still there after `graceMs`. Resolves once it has exited.
 */
export function stopChild(
  child: ChildProcess,
  ask: (child: ChildProcess) => void,
  graceMs: number,
): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(timer)
      resolve()
    })
    ask(child)
  })
}
