/**
 * Runs a Node S3 emulator (fauxqs, s3rver) in a child Node process of its own, so that the
 * server's memory does not count in this process's.
 */
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { TEST_REGION, type Running } from './engines.js'
import { stopChild } from './stop-child.js'

/** What an emulator runs in its child process, and the account it checks signatures against. */
export interface EmulatorInChild {
  name: 'fauxqs' | 's3rver'
  /**
   * An ES module body that starts the server and sets `globalThis.serverPort` and
   * `globalThis.stopServer`.
   */
  script: string
  credentials: { accessKeyId: string; secretAccessKey: string }
}

/**
 * The directory of this package: the child resolves `fauxqs` and `s3rver` from there, as an
 * `import()` in this module does (the project's `node_modules`, or pnpm's links of this
 * package's peers).
 */
function packageDirectory(): string {
  return fileURLToPath(new URL('..', import.meta.url))
}

/** The one line the child prints: its server's port, or why it did not start. */
type ChildReport = { port: number } | { error: { code?: string; message: string } }

/** The child's failure, with the child's `code` (`ERR_MODULE_NOT_FOUND` for a missing package). */
function childError(name: string, failure: { code?: string; message: string }): Error {
  const error: NodeJS.ErrnoException = new Error(
    `${name} child process did not start: ${failure.message}`,
  )
  if (failure.code !== undefined) error.code = failure.code
  return error
}

export async function startInChild(emulator: EmulatorInChild): Promise<Running> {
  const { name } = emulator
  // The child exits when its stdin closes, so it never outlives this process. A failure to
  // start comes back with its code, for a missing package to be told from another failure.
  const script = `
    try {
      ${emulator.script}
    } catch (error) {
      process.stdout.write(JSON.stringify({ error: { code: error?.code, message: String(error?.message ?? error) } }) + '\\n')
      process.exit(1)
    }
    process.stdout.write(JSON.stringify({ port: globalThis.serverPort }) + '\\n')
    const stop = () => Promise.resolve(globalThis.stopServer()).finally(() => process.exit(0))
    process.stdin.on('end', stop)
    process.stdin.on('error', stop)
    process.on('SIGTERM', stop)
    process.stdin.resume()
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: packageDirectory(),
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000)
  })
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => {
      let reported: ChildReport
      try {
        reported = JSON.parse(line) as ChildReport
      } catch {
        reject(new Error(`${name} child process printed ${JSON.stringify(line)}`))
        return
      }
      if ('port' in reported) resolve(reported.port)
      else reject(childError(name, reported.error))
    })
    child.once('exit', (code) =>
      reject(new Error(`${name} child process exited (${code}) before starting: ${stderr}`)),
    )
    child.once('error', reject)
  })
  child.stdout?.resume()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: TEST_REGION,
    credentials: emulator.credentials,
    // The child stops when its stdin closes.
    stop: () => stopChild(child, (running) => running.stdin?.end(), 5000),
  }
}
