/**
 * s3rver: the strict legacy Node S3 emulator (stores aws-chunked framing as data, ignores
 * If-None-Match), keeping objects in a temporary directory.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startInChild, type EmulatorInChild } from './emulator-child.js'
import { loadEnginePackage, TEST_REGION, type Running } from './engines.js'

// s3rver checks signatures against its one built-in account.
const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' }

const S3RVER_IN_CHILD: EmulatorInChild = {
  name: 's3rver',
  credentials: S3RVER_CREDENTIALS,
  script: `
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

interface S3rverInstance {
  run(): Promise<{ port: number }>
  close(): Promise<void>
}

/** The part of s3rver's constructor options used here. */
interface S3rverOptions {
  address: string
  port: number
  silent: boolean
  directory: string
}

/** Starts s3rver on a free loopback port, in this process or (`isolate`) in a child process. */
export async function startS3rverEngine(isolate: boolean): Promise<Running> {
  // The child imports s3rver from the same place: its absence there is reported alike.
  if (isolate) return loadEnginePackage('s3rver', 's3rver', () => startInChild(S3RVER_IN_CHILD))
  // s3rver ships no type declarations: import it by a name TypeScript does not resolve.
  const name = 's3rver'
  const module = await loadEnginePackage(
    's3rver',
    name,
    () => import(name) as Promise<{ default: new (options: S3rverOptions) => S3rverInstance }>,
  )
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-s3rver-'))
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
