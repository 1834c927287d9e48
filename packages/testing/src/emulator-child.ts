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

/** The directory of this package: where `fauxqs` and `s3rver` resolve from. */
function packageDirectory(): string {
  return fileURLToPath(new URL('..', import.meta.url))
}

export async function startInChild(emulator: EmulatorInChild): Promise<Running> {
  const { name } = emulator
  // The child exits when its stdin closes, so it never outlives this process.
  const script = `${emulator.script}
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
      try {
        resolve((JSON.parse(line) as { port: number }).port)
      } catch {
        reject(new Error(`${name} child process printed ${JSON.stringify(line)}`))
      }
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
