import { execFile } from 'node:child_process'
import { randomBytes, randomUUID } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { promisify } from 'node:util'
import { HeadObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { KeyConflictError, type DirectUpload } from '@attrstore/core'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import { startS3OrSkip, type TestS3 } from '@attrstore/testing'
import { parse as parseContentDisposition } from 'content-disposition'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { parseReference } from '../src/reference.js'
import { createVersionedBucket } from './server-cases.js'
import { FINDINGS, type PresignFindings } from './server-findings.js'
import { connection } from './support.js'

// What fauxqs, s3rver and Ceph RGW do with S3Storage's signed URLs and direct uploads,
// through real clients (fetch, FormData, /usr/bin/curl). Each server's findings
// (server-findings.ts, the README's table) are asserted both ways: a server that starts
// or stops enforcing something fails here.

const run = promisify(execFile)
const CURL = '/usr/bin/curl'
const REQUEST_TIMEOUT_MS = 15_000

async function fetchBounded(url: string, init: RequestInit = {}) {
  const response = await fetch(url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) })
  return {
    status: response.status,
    ok: response.ok,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  }
}

/** A browser's form upload: the fields in order, the file last. */
function postForm(upload: DirectUpload, body: Buffer, fields: Record<string, string> = {}) {
  const form = new FormData()
  for (const [name, value] of Object.entries({ ...upload.fields, ...fields })) {
    form.append(name, value)
  }
  form.append('file', new Blob([new Uint8Array(body)]), 'upload.bin')
  return fetchBounded(upload.url, { method: 'POST', body: form }).catch(() => undefined)
}

async function headObject(raw: S3Client, bucket: string, objectKey: string) {
  return raw.send(new HeadObjectCommand({ Bucket: bucket, Key: objectKey })).then(
    (head) => ({ size: head.ContentLength, contentType: head.ContentType }),
    () => undefined,
  )
}

const engines = ['fauxqs', 's3rver', 'ceph'] as const

for (const engine of engines) {
  const findings: PresignFindings = FINDINGS[engine]
  const started = await startS3OrSkip({ engine })
  afterAll(() => started.s3?.stop())
  describe.skipIf(!started.s3)(
    `S3Storage's signed URLs and direct uploads on ${engine}${started.skip ? ` (skipped: ${started.skip})` : ''}`,
    () => {
      const s3: TestS3 = started.s3!
      let raw: S3Client
      let storage: S3Storage
      let directory: string
      const storages: S3Storage[] = []
      const storageWith = (extra: Partial<S3StorageOptions> = {}) => {
        const made = new S3Storage({
          ...connection(s3),
          prefix: `presigned-${randomUUID()}`,
          ...extra,
        })
        storages.push(made)
        return made
      }
      beforeAll(async () => {
        raw = new S3Client(s3.clientConfig)
        storage = storageWith()
        directory = await mkdtemp(path.join(tmpdir(), 'attrstore-presigned-'))
      })
      afterAll(async () => {
        for (const made of storages) made.destroy()
        raw?.destroy()
        if (directory) await rm(directory, { recursive: true, force: true })
      })

      it('curl fetches a signed URL byte-identical', async () => {
        const content = randomBytes(200_000)
        const { key } = await storage.write(content)
        const { url } = await storage.signedUrl(key, { expiresIn: 60 })
        const file = path.join(directory, 'fetched.bin')
        await run(CURL, ['--silent', '--show-error', '--fail', '--max-time', '15', '-o', file, url])
        expect((await readFile(file)).equals(content)).toBe(true)
      })

      it(`response-content-disposition and -type: ${findings.honoursResponseHeaders ? 'honoured, with a unicode file name' : 'ignored (the recorded type is served)'}`, async () => {
        const { key } = await storage.write('%PDF-1.7', { contentType: 'text/plain' })
        const fileName = 'Résumé 履歴書 "final".pdf'
        const signed = await storage.signedUrl(key, {
          expiresIn: 60,
          disposition: 'attachment',
          fileName,
          contentType: 'application/pdf',
        })
        const fetched = await fetchBounded(signed.url)
        expect(fetched.status).toBe(200)
        expect(fetched.body.toString()).toBe('%PDF-1.7')
        const disposition = fetched.headers.get('content-disposition')
        if (findings.honoursResponseHeaders) {
          expect(fetched.headers.get('content-type')).toBe('application/pdf')
          expect(parseContentDisposition(disposition!)).toEqual({
            type: 'attachment',
            parameters: { filename: fileName },
          })
        } else {
          expect(fetched.headers.get('content-type')).toMatch(/^text\/plain/)
          expect(disposition).toBeNull()
        }
      })

      it(`a URL signed an hour ago for 60 s is ${findings.checksExpiry ? 'refused' : 'still served'}`, async () => {
        const { key } = await storage.write('old news')
        vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 3_600_000 })
        let signed
        try {
          signed = await storage.signedUrl(key, { expiresIn: 60 })
        } finally {
          vi.useRealTimers()
        }
        expect(signed.expiresAt.getTime()).toBeLessThan(Date.now())
        const fetched = await fetchBounded(signed.url)
        expect(fetched.ok, `status ${fetched.status}`).toBe(!findings.checksExpiry)
        if (findings.checksExpiry) expect(fetched.status).toBe(403)
      })

      it(`the URL of key A, edited to name B, ${findings.checksSignatures ? 'is refused' : 'serves B (no signature check)'}`, async () => {
        const a = await storage.write('object A')
        const b = await storage.write('object B')
        const urlA = (await storage.signedUrl(a.key, { expiresIn: 60 })).url
        expect((await fetchBounded(urlA)).body.toString()).toBe('object A')
        const edited = urlA.replace(`/${a.key}?`, `/${b.key}?`)
        expect(edited).not.toBe(urlA)
        const fetched = await fetchBounded(edited)
        expect(fetched.ok && fetched.body.toString() === 'object B').toBe(
          !findings.checksSignatures,
        )
      })

      if (!findings.versioning) {
        console.warn(`[skip] pinned-version URLs on ${engine}: it keeps no versions`)
      }
      it.skipIf(!findings.versioning)(
        `on a versioned bucket the URL stays pinned to its version after the key gets a new one${findings.versioning ? '' : ` (skipped: ${engine} keeps no versions)`}`,
        async () => {
          const bucket = await createVersionedBucket(s3, raw)
          const versioned = storageWith({ bucket })
          const { key } = await versioned.write('version one')
          const { versionId } = parseReference(key)
          expect(versionId).toBeDefined()
          const pinned = await versioned.signedUrl(key, { expiresIn: 60 })
          expect(new URL(pinned.url).searchParams.get('versionId')).toBe(versionId)
          // Another writer (not attrstore, which never overwrites) puts a new version.
          const { key: objectKey } = versioned.locate(key)
          await raw.send(
            new PutObjectCommand({ Bucket: bucket, Key: objectKey, Body: 'version two' }),
          )
          expect((await fetchBounded(pinned.url)).body.toString()).toBe('version one')
          const current = await versioned.signedUrl(versioned.objectKey(key), { expiresIn: 60 })
          expect((await fetchBounded(current.url)).body.toString()).toBe('version two')
        },
      )

      it(`versioning: ${findings.versioning ? 'writes get version ids' : 'a versioned bucket gives no version ids'}`, async () => {
        const bucket = await createVersionedBucket(s3, raw).catch(() => undefined)
        const versionId = bucket
          ? (await raw.send(new PutObjectCommand({ Bucket: bucket, Key: 'v', Body: 'x' })))
              .VersionId
          : undefined
        expect(versionId !== undefined && versionId !== 'null').toBe(findings.versioning)
      })

      it('a POST form upload through fetch + FormData lands the bytes, with the media type', async () => {
        const content = randomBytes(3000)
        const upload = await storage.createDirectUpload({
          maxSize: 10_000,
          contentType: 'image/png',
          expiresIn: 60,
        })
        expect(await storage.exists(upload.key)).toBe(false)
        const sent = await postForm(upload, content)
        expect(sent?.status).toBe(204)
        expect((await storage.read(upload.key)).equals(content)).toBe(true)
        const stat = await storage.stat(upload.key)
        expect(stat).toMatchObject({ key: upload.key, size: 3000, contentType: 'image/png' })
        // Nothing recorded a SHA-256 at upload time: verify says so instead of passing.
        expect(stat.sha256).toBeUndefined()
        expect(await storage.verify(upload.key)).toMatchObject({ verified: false })
      })

      it('a POST form upload through curl -F lands the bytes; an empty file too', async () => {
        for (const content of [randomBytes(5000), Buffer.alloc(0)]) {
          const upload = await storage.createDirectUpload({ maxSize: 10_000, expiresIn: 60 })
          const file = path.join(directory, `upload-${randomUUID()}.bin`)
          await writeFile(file, content)
          const fields = Object.entries(upload.fields!).flatMap(([name, value]) => [
            '--form-string',
            `${name}=${value}`,
          ])
          const { stdout } = await run(CURL, [
            '--silent',
            '--show-error',
            '--max-time',
            '15',
            '-o',
            '/dev/null',
            '-w',
            '%{http_code}',
            ...fields,
            '-F',
            `file=@${file}`,
            upload.url,
          ])
          expect(stdout).toBe('204')
          expect((await storage.read(upload.key)).equals(content)).toBe(true)
        }
      })

      it(`a form over maxSize is ${findings.enforcesPostPolicy ? 'refused, leaving nothing' : 'stored anyway (no policy check)'}`, async () => {
        const upload = await storage.createDirectUpload({ maxSize: 1000, expiresIn: 60 })
        const sent = await postForm(upload, randomBytes(5000))
        expect(sent?.ok ?? false).toBe(!findings.enforcesPostPolicy)
        expect(await storage.exists(upload.key)).toBe(!findings.enforcesPostPolicy)
      })

      it(`a form whose key field was changed is ${findings.enforcesPostPolicy ? 'refused, leaving nothing under either key' : 'stored under the other key (no policy check)'}`, async () => {
        const upload = await storage.createDirectUpload({ maxSize: 1000, expiresIn: 60 })
        const other = `${upload.fields!.key}-other`
        const sent = await postForm(upload, Buffer.from('elsewhere'), { key: other })
        expect(sent?.ok ?? false).toBe(!findings.enforcesPostPolicy)
        expect(await storage.exists(upload.key)).toBe(false)
        expect((await headObject(raw, s3.bucket, other)) !== undefined).toBe(
          !findings.enforcesPostPolicy,
        )
      })

      it(`a form with another Content-Type is ${findings.enforcesPostPolicy ? 'refused' : 'stored with it'}`, async () => {
        const upload = await storage.createDirectUpload({
          maxSize: 1000,
          contentType: 'image/png',
          expiresIn: 60,
        })
        const sent = await postForm(upload, Buffer.from('<svg/>'), {
          'Content-Type': 'image/svg+xml',
        })
        expect(sent?.ok ?? false).toBe(!findings.enforcesPostPolicy)
        expect(await storage.exists(upload.key)).toBe(!findings.enforcesPostPolicy)
      })

      it('a key of your generator that exists already is refused when the upload is prepared', async () => {
        const fixed = `fixed-${randomUUID()}`
        const custom = storageWith({ keyGenerator: () => fixed })
        await custom.write('taken')
        await expect(
          custom.createDirectUpload({ maxSize: 10, expiresIn: 60 }),
        ).rejects.toBeInstanceOf(KeyConflictError)
      })

      it(`directUploads: 'put' lands exactly size bytes; another length is ${findings.enforcesSignedContentLength ? 'refused' : 'accepted (no check)'}`, async () => {
        const put = storageWith({ directUploads: 'put' })
        const content = randomBytes(1234)
        const upload = await put.createDirectUpload({
          maxSize: 10_000,
          size: content.length,
          contentType: 'application/pdf',
          expiresIn: 60,
        })
        expect(upload.method).toBe('PUT')
        const sent = await fetchBounded(upload.url, {
          method: 'PUT',
          headers: upload.headers!,
          body: new Uint8Array(content),
        })
        expect(sent.status).toBe(200)
        expect((await put.read(upload.key)).equals(content)).toBe(true)
        expect((await put.stat(upload.key)).contentType).toBe('application/pdf')

        const second = await put.createDirectUpload({ maxSize: 10_000, size: 10, expiresIn: 60 })
        const longer = await fetchBounded(second.url, {
          method: 'PUT',
          headers: second.headers!,
          body: new Uint8Array(randomBytes(5000)),
        }).catch(() => undefined)
        expect(longer?.ok ?? false).toBe(!findings.enforcesSignedContentLength)
        expect(await put.exists(second.key)).toBe(!findings.enforcesSignedContentLength)
      })
    },
  )
}
