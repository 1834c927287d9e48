/**
 * Native daemons for tests (the Ceph cluster of `ceph.ts`): each runs in its own process
 * group (`setsid`, through `detached`), logs to a file, and never outlives this process.
 * They are killed by `stop()`, by this process's `exit` event, and, when this process dies
 * without one (SIGKILL), by a small reaper process that watches a pipe from this one.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { access, constants, readFile } from 'node:fs/promises'
import { closeSync, openSync } from 'node:fs'
import path from 'node:path'

/** One daemon started by {@link startDaemon}. */
export interface Daemon {
  /** The name errors give it (`ceph-mon`, `radosgw`...). */
  readonly name: string
  readonly pid: number
  /** Where its output goes (and, for Ceph daemons, where they log). */
  readonly logFiles: readonly string[]
  /** Set once it has exited: `code 1`, `signal SIGKILL`. */
  exited(): string | undefined
  /** Kills its process group and waits (at most 5 s) for it to exit. */
  kill(): Promise<void>
}

/** Process groups of the daemons alive, killed when this process exits. */
const alive = new Set<number>()
let reaper: ChildProcess | undefined

function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL')
  } catch {
    // Already gone.
  }
}

function killAll(): void {
  for (const pid of alive) killGroup(pid)
  alive.clear()
}

// The reaper holds the read end of a pipe from this process: when this process dies, how
// ever it dies, the pipe closes and the reaper kills the groups it was told about (lines
// "+pid", "-pid"), then removes the directories (lines "d<path>", "u<path>").
const REAPER_SCRIPT = `
  const { rmSync } = require('node:fs')
  const groups = new Set()
  const directories = new Set()
  let pending = ''
  process.stdin.setEncoding('utf8')
  process.stdin.on('data', (chunk) => {
    pending += chunk
    let end
    while ((end = pending.indexOf('\\n')) >= 0) {
      const line = pending.slice(0, end)
      pending = pending.slice(end + 1)
      const rest = line.slice(1)
      if (line[0] === '+') groups.add(Number(rest))
      else if (line[0] === '-') groups.delete(Number(rest))
      else if (line[0] === 'd') directories.add(rest)
      else directories.delete(rest)
    }
  })
  const reap = () => {
    for (const pid of groups) { try { process.kill(-pid, 'SIGKILL') } catch {} }
    for (const directory of directories) {
      try { rmSync(directory, { recursive: true, force: true, maxRetries: 5 }) } catch {}
    }
    process.exit(0)
  }
  process.stdin.on('end', reap)
  process.stdin.on('error', reap)
  process.on('SIGTERM', () => {})
  process.on('SIGINT', () => {})
`

function tellReaper(line: string): void {
  if (!reaper) {
    process.once('exit', killAll)
    reaper = spawn(process.execPath, ['-e', REAPER_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    reaper.unref()
    const stdin = reaper.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null
    stdin?.unref?.()
    stdin?.on('error', () => {})
  }
  reaper.stdin?.write(`${line}\n`)
}

/**
 * Starts `command` in its own process group, output appended to `logFile`. `logFiles`
 * are the files to quote when it fails (its own log, if it keeps one, then `logFile`).
 */
export function startDaemon(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
  logFiles: readonly string[] = [],
): Daemon {
  const out = openSync(logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(command, args, { detached: true, stdio: ['ignore', out, out] })
  } finally {
    closeSync(out)
  }
  let exit: string | undefined
  const exitedPromise = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `code ${code}`
      resolve()
    })
    child.once('error', (error) => {
      exit = error.message
      resolve()
    })
  })
  child.unref()
  const pid = child.pid
  if (pid === undefined) {
    throw new Error(`Could not start ${name} (${command})`)
  }
  const forget = killGroupIfThisProcessDies(pid)
  return {
    name,
    pid,
    logFiles: [...logFiles, logFile],
    exited: () => exit,
    async kill() {
      if (exit === undefined) {
        killGroup(pid)
        let timer: NodeJS.Timeout | undefined
        await Promise.race([
          exitedPromise,
          new Promise((resolve) => {
            timer = setTimeout(resolve, 5000)
          }),
        ])
        clearTimeout(timer)
      }
      forget()
    },
  }
}

/**
 * Has the process group `pid` leads killed should this process exit or die (SIGKILL
 * included) before calling the function returned, which cancels that.
 */
export function killGroupIfThisProcessDies(pid: number): () => void {
  alive.add(pid)
  tellReaper(`+${pid}`)
  return () => {
    alive.delete(pid)
    tellReaper(`-${pid}`)
  }
}

/**
 * Has `directory` removed (after the daemons are killed) should this process die before
 * calling the function returned, which cancels that.
 */
export function removeIfThisProcessDies(directory: string): () => void {
  if (directory.includes('\n')) throw new Error(`Unusable directory name ${directory}`)
  tellReaper(`d${directory}`)
  return () => tellReaper(`u${directory}`)
}

/** The last `lines` lines of each file, for error messages ("" for a missing file). */
export async function tailOf(files: readonly string[], lines = 15): Promise<string> {
  const parts: string[] = []
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch(() => '')
    const last = text.trimEnd().split('\n').slice(-lines).join('\n')
    if (last) parts.push(`--- ${path.basename(file)}\n${last}`)
  }
  return parts.join('\n')
}

/**
 * Runs a short command to its end, at most `timeoutMs` (then killed); resolves with its
 * standard output, rejects with an error that quotes its standard error.
 */
export function runCommand(
  command: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      command,
      args,
      { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (!error) return resolve(stdout)
        const how = error.killed ? `timed out after ${timeoutMs} ms` : `failed (${error.message})`
        const said = `${stderr}${stdout}`.trim().split('\n').slice(-15).join('\n')
        reject(new Error(`${path.basename(command)} ${args.join(' ')} ${how}\n${said}`))
      },
    )
  })
}

/** The names in `commands` that no directory of `PATH` holds as an executable. */
export async function missingCommands(
  commands: readonly string[],
  env: Record<string, string | undefined> = process.env,
): Promise<string[]> {
  const directories = (env.PATH ?? '').split(path.delimiter).filter(Boolean)
  const missing: string[] = []
  for (const command of commands) {
    let found = false
    for (const directory of directories) {
      try {
        await access(path.join(directory, command), constants.X_OK)
        found = true
        break
      } catch {
        // Not here.
      }
    }
    if (!found) missing.push(command)
  }
  return missing
}
