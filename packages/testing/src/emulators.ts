/**
 * The S3 emulators that run on Node: fauxqs (maintained, decodes aws-chunked) and s3rver
 * (strict legacy), in this process or in a child process of their own.
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { TEST_REGION, type Running } from './engines.js'
import { requireNodeSqlite } from './node-sqlite.js'
import { stopChild } from './stop-child.js'

// ---------------------------------------------------------------- fauxqs

const FAUXQS_CREDENTIALS = { accessKeyId: 'test', secretAccessKey: 'test' }

export async function startFauxqsHere(): Promise<Running> {
  requireNodeSqlite('fauxqs')
  const { startFauxqs } = await import('fauxqs')
  const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' })
  return {
    endpoint: `http://127.0.0.1:${server.port}`,
    region: TEST_REGION,
    credentials: FAUXQS_CREDENTIALS,
    stop: () => server.stop(),
  }
}

// ---------------------------------------------------------------- s3rver

// s3rver checks signatures against its one built-in account.
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
}

export async function startS3rverHere(): Promise<Running> {
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-s3rver-'))
  // s3rver ships no type declarations: import it by a name TypeScript does not resolve.
  const name = 's3rver'
  const module = (await import(name)) as {
    default: new (options: Record<string, unknown>) => S3rverInstance
  }
  const server = new module.default({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
  })
  let address: { port: number }
  try {
    address = await server.run()
  } catch (error) {
    await rm(directory, { recursive: true, force: true })
    throw error
  }
  return {
    endpoint: `http://127.0.0.1:${address.port}`,
    region: TEST_REGION,
    credentials: S3RVER_CREDENTIALS,
    async stop() {
      await server.close()
      await rm(directory, { recursive: true, force: true })
    },
  }
}

// ---------------------------------------------------------------- child process

const CHILD_SCRIPTS: Record<'fauxqs' | 's3rver', string> = {
  fauxqs: `
    const { startFauxqs } = await import('fauxqs')
    const server = await startFauxqs({ port: 0, logger: false, host: '127.0.0.1' })
    globalThis.stopServer = () => server.stop()
    globalThis.serverPort = server.port
  `,
  s3rver: `
    const { mkdtempSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { default: S3rver } = await import('s3rver')
    const directory = mkdtempSync(tmpdir() + '/attrstore-s3rver-')
    const server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory })
    const address = await server.run()
    globalThis.stopServer = async () => { await server.close(); rmSync(directory, { recursive: true, force: true }) }
    globalThis.serverPort = address.port
  `,
}

/** The directory of this package: where `fauxqs` and `s3rver` resolve from. */
function packageDirectory(): string {
  return fileURLToPath(new URL('..', import.meta.url))
}

export async function startInChild(engine: 'fauxqs' | 's3rver'): Promise<Running> {
  if (engine === 'fauxqs') requireNodeSqlite(engine) // the child runs this same Node
  // The child exits when its stdin closes, so it never outlives this process.
  const script = `${CHILD_SCRIPTS[engine]}
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
        reject(new Error(`${engine} child process printed ${JSON.stringify(line)}`))
      }
    })
    child.once('exit', (code) =>
      reject(new Error(`${engine} child process exited (${code}) before starting: ${stderr}`)),
    )
    child.once('error', reject)
  })
  child.stdout?.resume()
  return {
    endpoint: `http://127.0.0.1:${port}`,
    region: TEST_REGION,
    credentials: engine === 's3rver' ? S3RVER_CREDENTIALS : FAUXQS_CREDENTIALS,
    // The child stops when its stdin closes.
    stop: () => stopChild(child, (running) => running.stdin?.end(), 5000),
  }
}
