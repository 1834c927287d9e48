/**
 * Signed URLs and dispositions as real clients take them: HMAC URLs of the application's
 * route over a BytesFileSystemStorage with curl (each status: 200, 206, 304, 416, 403 for a
 * tampered, expired or other key's URL, 404) and in headless Chromium; sendObject's
 * disposition in Chromium (an inline PDF opens in the page, an attachment is downloaded
 * under its Unicode name); S3Storage's presigned URLs on s3rver and Ceph RGW in Chromium
 * (downloaded under the signed name, byte-identical; an expired one refused by Ceph).
 * Skipped, printing why, without curl or Chromium; under CI a missing Chromium fails.
 */
import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { S3Storage } from '@attrstore/s3'
import {
  chromiumMissingFor,
  launchChromium,
  type LoopbackServer,
  startHttpServer,
  startS3OrSkip,
  type TestS3,
} from '@attrstore/testing'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createUrlSigner, sendObject, serveSignedUrl, type UrlSigner } from '../src/index.js'
import { CURL, runCurl } from './support/curl.js'

const chromiumMissing = chromiumMissingFor('signed URLs in Chromium')
const curlMissing = existsSync(CURL) ? undefined : `curl is not installed at ${CURL}`
if (curlMissing) console.warn(`[skip] signed URLs with curl: ${curlMissing}`)

/** A one-page PDF Chromium's viewer opens (a correct cross-reference table is not needed). */
const PDF = Buffer.from(
  '%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n' +
    '2 0 obj << /Type /Pages /Kids [3 0 R] /Count 1 >> endobj\n' +
    '3 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >> endobj\n' +
    'trailer << /Root 1 0 R >>\n%%EOF\n',
)
const UNICODE_NAME = 'rapport été 2026 – 日本.pdf'
const STEP_TIMEOUT = 30_000

const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-http-signed-clients-'))
const storage = new BytesFileSystemStorage({ root: path.join(directory, 'files') })
const pdfKey = (await storage.write(PDF, { contentType: 'application/pdf' })).key

let clock = Date.now()
// The route's base URL is the server's: the server is started first, the signer made then.
const route: { signer?: UrlSigner } = {}
/** `/signed?…`: serveSignedUrl; `/inline`, `/attachment`: sendObject; `/`: an empty page. */
const server: LoopbackServer = await startHttpServer((request, response) => {
  const { pathname } = new URL(request.url!, 'http://x')
  if (pathname === '/signed')
    return void serveSignedUrl(request, response, [storage], route.signer!)
  if (pathname === '/inline' || pathname === '/attachment')
    return void sendObject(request, response, storage, pdfKey, {
      disposition: pathname === '/inline' ? 'inline' : 'attachment',
      fileName: UNICODE_NAME,
    })
  response.setHeader('Content-Type', 'text/html; charset=utf-8')
  response.end('<!doctype html><title>signed urls</title><body></body>')
})
const signer = createUrlSigner({
  secrets: randomBytes(32),
  baseUrl: `${server.url}/signed`,
  now: () => clock,
})
route.signer = signer
afterAll(async () => {
  await server.close()
  await rm(directory, { recursive: true, force: true })
})

const curl = (args: string[]) => runCurl(args, directory)
const signed = (key: string, options: Parameters<UrlSigner['signedUrl']>[2]) =>
  signer.signedUrl(storage, key, options).url

describe.skipIf(curlMissing !== undefined)(
  `HMAC signed URLs on the filesystem, with curl${curlMissing ? ` (skipped: ${curlMissing})` : ''}`,
  () => {
    it('200 with the granted presentation, 206, 304, 416 and 404', async () => {
      const url = signed(pdfKey, {
        expiresIn: 300,
        disposition: 'attachment',
        fileName: UNICODE_NAME,
      })
      const whole = await curl([url])
      expect(whole.status).toBe(200)
      expect(whole.body.equals(PDF)).toBe(true)
      expect(whole.headers).toMatchObject({
        'content-type': 'application/pdf',
        'content-length': String(PDF.length),
        'accept-ranges': 'bytes',
        'x-content-type-options': 'nosniff',
        etag: expect.stringMatching(/^"[0-9a-f]{64}"$/),
      })
      expect(whole.headers['content-disposition']).toMatch(
        /^attachment; filename="[\x20-\x7e]+"; filename\*=UTF-8''rapport%20%C3%A9t%C3%A9/,
      )
      const ranged = await curl(['--range', '0-7', url])
      expect(ranged.status).toBe(206)
      expect(ranged.headers['content-range']).toBe(`bytes 0-7/${PDF.length}`)
      expect(ranged.body.toString()).toBe('%PDF-1.4')
      const cached = await curl(['-H', `If-None-Match: ${whole.headers.etag}`, url])
      expect(cached.status).toBe(304)
      expect(cached.body.length).toBe(0)
      const past = await curl(['--range', `${PDF.length}-`, url])
      expect(past.status).toBe(416)
      expect(past.headers['content-range']).toBe(`bytes */${PDF.length}`)
      const missing = await curl([signed('no/such/object.pdf', { expiresIn: 300 })])
      expect(missing.status).toBe(404)
    })

    it('tampered, expired, or replayed for another key: 403, and none of the bytes', async () => {
      const otherKey = (await storage.write('another object')).key
      const url = signed(pdfKey, { expiresIn: 60 })
      const replayed = new URL(url)
      replayed.searchParams.set('key', otherKey)
      const tampered = url.replace(
        /signature=(.)/,
        (_, c: string) => `signature=${c === 'A' ? 'B' : 'A'}`,
      )
      for (const attempt of [replayed.href, tampered]) {
        const answer = await curl([attempt])
        expect(answer.status, attempt).toBe(403)
        expect(answer.body.toString()).toBe('Forbidden\n')
      }
      clock += 61_000
      try {
        const expired = await curl([url])
        expect(expired.status).toBe(403)
        expect(expired.body.includes(PDF.subarray(0, 8))).toBe(false)
      } finally {
        clock = Date.now()
      }
      expect((await curl([signed(pdfKey, { expiresIn: 60 })])).status).toBe(200)
    })
  },
)

/** Clicks a link to `url` in `page`; resolves with the download it starts. */
async function download(page: Page, url: string) {
  const started = page.waitForEvent('download', { timeout: STEP_TIMEOUT })
  // What runs in the page is JavaScript text: the test's TypeScript has Node's types, not the DOM's.
  await page.evaluate(`(() => {
    const link = document.createElement('a')
    link.href = ${JSON.stringify(url)}
    link.textContent = 'download'
    document.body.append(link)
    link.click()
  })()`)
  return started
}

/** Shows `url` in an iframe of `page`; resolves with the content type of the frame's document. */
async function shownInFrame(page: Page, url: string): Promise<string> {
  await page.evaluate(`(() => {
    const frame = document.createElement('iframe')
    frame.src = ${JSON.stringify(url)}
    document.body.append(frame)
  })()`)
  const frame = () => page.frames().find((f) => f.url() === url)
  await expect.poll(frame, { timeout: STEP_TIMEOUT }).toBeDefined()
  await frame()!.waitForLoadState()
  return (await frame()!.evaluate('document.contentType')) as string
}

describe.skipIf(chromiumMissing !== undefined)(
  `in headless Chromium${chromiumMissing ? ` (skipped: ${chromiumMissing})` : ''}`,
  () => {
    let browser: Browser
    let page: Page
    beforeAll(async () => {
      browser = await launchChromium()
      page = await (await browser.newContext({ acceptDownloads: true })).newPage()
      page.setDefaultTimeout(STEP_TIMEOUT)
      await page.goto(server.url)
    }, 60_000)
    afterAll(() => browser?.close())

    it("sendObject's disposition: inline opens the PDF in the page, attachment downloads it under its Unicode name", async () => {
      expect(await shownInFrame(page, `${server.url}/inline`)).toBe('application/pdf')
      const saved = await download(page, `${server.url}/attachment`)
      expect(saved.suggestedFilename()).toBe(UNICODE_NAME)
      expect((await readFile((await saved.path())!)).equals(PDF)).toBe(true)
      expect(await page.title()).toBe('signed urls') // the page did not navigate away
    }, 60_000)

    it('an HMAC URL of the filesystem: inline shown, attachment downloaded as signed, tampered refused', async () => {
      // The filesystem records no media type: the URL names it, as signedUrlFor does from
      // the entity. Without one, the bytes are of no known type and are downloaded.
      const untyped = signed(pdfKey, { expiresIn: 300, disposition: 'inline' })
      expect(
        await page.evaluate(async (url) => {
          const response = await fetch(url)
          return [response.headers.get('content-type'), response.headers.get('content-disposition')]
        }, untyped),
      ).toEqual(['application/octet-stream', 'attachment'])
      const inline = signed(pdfKey, {
        expiresIn: 300,
        disposition: 'inline',
        contentType: 'application/pdf',
      })
      expect(await shownInFrame(page, inline)).toBe('application/pdf')
      const attachment = signed(pdfKey, {
        expiresIn: 300,
        disposition: 'attachment',
        fileName: UNICODE_NAME,
      })
      const saved = await download(page, attachment)
      expect(saved.suggestedFilename()).toBe(UNICODE_NAME)
      expect((await readFile((await saved.path())!)).equals(PDF)).toBe(true)
      const status = (url: string) =>
        page.evaluate(async (target) => (await fetch(target)).status, url)
      expect(await status(attachment)).toBe(200)
      expect(await status(attachment.replace('disposition=attachment', 'disposition=inline'))).toBe(
        403,
      )
    }, 60_000)

    for (const engine of ['s3rver', 'ceph'] as const) {
      describe(`a presigned URL of S3Storage on ${engine}`, () => {
        let started: Awaited<ReturnType<typeof startS3OrSkip>> = { skip: 'not started' }
        let s3Storage: S3Storage
        beforeAll(async () => {
          started = await startS3OrSkip({ engine, isolate: engine !== 'ceph' })
          if (started.skip) console.warn(`[skip] presigned URLs on ${engine}: ${started.skip}`)
          if (!started.s3) return
          const s3: TestS3 = started.s3
          s3Storage = new S3Storage({
            ...s3.storageOptions,
            maxAttempts: 2,
            prefix: `signed-chromium-${Date.now()}/`,
          })
        }, 180_000)
        afterAll(async () => {
          s3Storage?.destroy()
          await started.s3?.stop()
        })

        it('is downloaded by Chromium under the signed name, byte-identical; an expired one is refused where the server checks', async (context) => {
          if (!started.s3) return context.skip(started.skip)
          const { key } = await s3Storage.write(PDF, { contentType: 'application/pdf' })
          const { url } = await s3Storage.signedUrl(key, {
            expiresIn: 300,
            disposition: 'attachment',
            fileName: UNICODE_NAME,
            contentType: 'application/pdf',
          })
          const saved = await download(page, url)
          expect(saved.suggestedFilename()).toBe(UNICODE_NAME)
          expect((await readFile((await saved.path())!)).equals(PDF)).toBe(true)
          // s3rver and Ceph both check expiry (packages/s3/test/server-findings.ts).
          vi.useFakeTimers({ toFake: ['Date'], now: Date.now() - 3_600_000 })
          let expired: string
          try {
            expired = (await s3Storage.signedUrl(key, { expiresIn: 60 })).url
          } finally {
            vi.useRealTimers()
          }
          const answer = await page.goto(expired)
          expect(answer?.status()).toBe(403)
          await page.goto(server.url)
        }, 90_000)
      })
    }
  },
)
