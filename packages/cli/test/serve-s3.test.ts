/**
 * `attrstore serve-s3`, spawned: it loads the data-source module as the other commands do,
 * serves its storages (registered or exported) on 127.0.0.1 by default, prints the URL,
 * answers the AWS SDK, and shuts down cleanly on SIGTERM and Ctrl-C.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { collect, DATA_SOURCE, spawnScript, type CliResult } from './support.js'

const BIN = path.join(import.meta.dirname, '..', 'src', 'bin.ts')
const KEY = { accessKeyId: 'SERVEKEY', secretAccessKey: 'serve-secret' }
let root: string
let legacyRoot: string
let bodyKey: string

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'attrstore-serve-'))
  legacyRoot = await mkdtemp(path.join(tmpdir(), 'attrstore-serve-legacy-'))
  bodyKey = (await new BytesFileSystemStorage({ root }).write(Buffer.from('served body\n'))).key
  await new BytesFileSystemStorage({ root: legacyRoot, keyGenerator: () => 'old/ü #1.txt' }).write(
    Buffer.from('legacy\n'),
  )
})
afterAll(async () => {
  await rm(root, { recursive: true, force: true })
  await rm(legacyRoot, { recursive: true, force: true })
})

function serve(args: string[], env: Record<string, string> = {}) {
  const child = spawnScript(BIN, ['serve-s3', '-d', DATA_SOURCE, '--port', '0', ...args], {
    ATTRSTORE_TEST_STORAGES: JSON.stringify({
      main: { kind: 'fs', root },
      legacy: { kind: 'fs', root: legacyRoot },
    }),
    ATTRSTORE_S3_ACCESS_KEY_ID: KEY.accessKeyId,
    ATTRSTORE_S3_SECRET_ACCESS_KEY: KEY.secretAccessKey,
    ...env,
  })
  const result = collect(child)
  return { child, result, url: serverUrl(child, result) }
}

/** The URL the command prints, within 60 s. */
function serverUrl(child: ChildProcess, result: Promise<CliResult>): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => {
      child.kill('SIGKILL')
      reject(new Error(`no URL printed: ${seen}`))
    }, 60_000)
    child.stdout!.on('data', (chunk: Buffer) => {
      seen += chunk.toString()
      const match = /Serving S3 on (http:\/\/\S+\/)/.exec(seen)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    })
    void result.then((done) => {
      clearTimeout(timer)
      reject(new Error(`exited (${done.code}) before serving:\n${done.stderr}`))
    })
  })
}

const sdk = (endpoint: string) =>
  new S3Client({
    endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials: KEY,
    maxAttempts: 1,
  })

describe('attrstore serve-s3', () => {
  it('serves one bucket per stored attribute on 127.0.0.1, and stops cleanly on SIGTERM', async () => {
    const { child, result, url } = serve([])
    const endpoint = await url
    expect(endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/)
    const client = sdk(endpoint)
    try {
      const listed = await client.send(new ListObjectsV2Command({ Bucket: 'document-body' }))
      expect(listed.Contents?.map((c) => c.Key)).toEqual([bodyKey])
      const body = await client.send(
        new GetObjectCommand({ Bucket: 'attachment-content', Key: bodyKey }),
      )
      expect(await body.Body!.transformToString()).toBe('served body\n')
    } finally {
      client.destroy()
      child.kill('SIGTERM')
    }
    const done = await result
    expect({ code: done.code, stderr: done.stderr }).toMatchObject({
      code: 0,
      stderr: expect.stringContaining('SIGTERM: shutting down'),
    })
  })

  it('serves an exported storage under the name given, anonymously too, and stops on Ctrl-C', async () => {
    const { child, result, url } = serve([
      '--bucket',
      'legacy=legacyFiles',
      '--anonymous',
      '--hide',
      'legacy/secret/',
    ])
    const endpoint = await url
    try {
      const answer = await fetch(
        `${endpoint}legacy/${encodeURIComponent('old/ü #1.txt').replace(/%2F/g, '/')}`,
      )
      expect(answer.status).toBe(200)
      expect(await answer.text()).toBe('legacy\n')
      expect((await fetch(`${endpoint}document-body?list-type=2`)).status).toBe(404)
    } finally {
      child.kill('SIGINT')
    }
    expect((await result).code).toBe(0)
  })

  it('refuses to start without credentials or --anonymous (exit 2)', async () => {
    const child = spawnScript(BIN, ['serve-s3', '-d', DATA_SOURCE, '--port', '0'], {
      ATTRSTORE_TEST_STORAGES: JSON.stringify({ main: { kind: 'fs', root } }),
    })
    const done = await collect(child)
    expect(done.code).toBe(2)
    expect(done.stderr).toContain('--anonymous')
  })
})
