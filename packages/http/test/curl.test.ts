// curl, a real client, against a real server: a range download and the headers, for each
// storage sendObject is likely to serve from (the filesystem, S3 on fauxqs and s3rver).
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import type { AttributeStorage } from '@attrstore/core'
import { sha256Hex } from '@attrstore/core/driver'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { S3Storage } from '@attrstore/s3'
import { startHttpServer, startS3OrSkip, type TestS3 } from '@attrstore/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { sendObject } from '../src/index.js'
import { CURL, runCurl } from './support/curl.js'

const run = promisify(execFile)
const CONTENT = Buffer.from('%PDF-1.7 a report, 33 bytes long.')
const ETAG = `"${sha256Hex(CONTENT)}"`

const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-http-curl-'))
afterAll(() => rm(directory, { recursive: true, force: true }))

const curl = (args: string[]) => runCurl(args, directory)

async function checkWithCurl(storage: AttributeStorage): Promise<void> {
  const { key } = await storage.write(CONTENT, { contentType: 'application/pdf' })
  const server = await startHttpServer((request, response) => {
    void sendObject(request, response, storage, key, { fileName: 'rapport été.pdf' })
  })
  try {
    const ranged = await curl(['--range', '9-16', server.url])
    expect(ranged.status).toBe(206)
    expect(ranged.body.toString()).toBe('a report')
    expect(ranged.headers).toMatchObject({
      'content-range': `bytes 9-16/${CONTENT.length}`,
      'content-length': '8',
      'content-type': 'application/pdf',
      'accept-ranges': 'bytes',
      etag: ETAG,
      'x-content-type-options': 'nosniff',
      'content-disposition': `inline; filename="rapport _t_.pdf"; filename*=UTF-8''rapport%20%C3%A9t%C3%A9.pdf`,
    })
    expect(new Date(ranged.headers['last-modified']!).getTime()).not.toBeNaN()

    const whole = await curl([server.url])
    expect(whole.status).toBe(200)
    expect(whole.body.equals(CONTENT)).toBe(true)
    expect(whole.headers['content-length']).toBe(String(CONTENT.length))

    const head = await curl(['--head', server.url])
    expect(head.status).toBe(200)
    expect(head.headers['content-length']).toBe(String(CONTENT.length))
    expect(head.headers.etag).toBe(ETAG) // (curl --head writes the headers as its output)

    const cached = await curl(['-H', `If-None-Match: ${ETAG}`, server.url])
    expect(cached.status).toBe(304)
    expect(cached.headers.etag).toBe(ETAG)

    const past = await curl(['--range', `${CONTENT.length}-`, server.url])
    expect(past.status).toBe(416)
    expect(past.headers['content-range']).toBe(`bytes */${CONTENT.length}`)

    // curl resumes a partial download with a Range from what it has: the rest, 206.
    const partialFile = path.join(directory, `resume-${Math.random()}`)
    await writeFile(partialFile, CONTENT.subarray(0, 10))
    await run(CURL, [
      '--silent',
      '--show-error',
      '--max-time',
      '10',
      '-C',
      '-',
      '-o',
      partialFile,
      server.url,
    ])
    expect((await readFile(partialFile)).equals(CONTENT)).toBe(true)
  } finally {
    await server.close()
  }
}

const engines = await Promise.all(
  (['fauxqs', 's3rver'] as const).map(
    async (engine) => [engine, await startS3OrSkip({ engine, isolate: true })] as const,
  ),
)
afterAll(() => Promise.all(engines.map(([, started]) => started.s3?.stop())))

const hasCurl = existsSync(CURL)
if (!hasCurl) console.warn(`[skip] curl tests: ${CURL} is not installed`)

describe.skipIf(!hasCurl)(
  `curl against sendObject${hasCurl ? '' : ` (skipped: no ${CURL})`}`,
  () => {
    it('BytesFileSystemStorage', async () => {
      await checkWithCurl(new BytesFileSystemStorage({ root: path.join(directory, 'files') }))
    })

    for (const [engine, started] of engines) {
      it.skipIf(!started.s3)(
        `S3Storage on ${engine}${started.skip ? ` (skipped: ${started.skip})` : ''}`,
        async () => {
          const s3: TestS3 = started.s3!
          const storage = new S3Storage({
            ...s3.storageOptions,
            maxAttempts: 2,
          })
          try {
            await checkWithCurl(storage)
          } finally {
            await storage.dispose()
          }
        },
      )
    }
  },
)
