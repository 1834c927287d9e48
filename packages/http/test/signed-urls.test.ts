import { randomBytes } from 'node:crypto'
import { ConfigurationError, MemoryStorage } from '@attrstore/core'
import { InstrumentedStorage, startHttpServer } from '@attrstore/testing'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import {
  createUrlSigner,
  MIN_SECRET_BYTES,
  serveSignedUrl,
  SignedUrlRejectedError,
  type SendFailure,
  type UrlSigner,
} from '../src/index.js'

const SECRET = randomBytes(32)
let clock = Date.parse('2026-12-01T12:00:00Z')
const now = () => clock

// Two storages behind one route: a URL says which by its signature alone.
const photos = new InstrumentedStorage(new MemoryStorage())
const other = new InstrumentedStorage(new MemoryStorage())
const stored = async (storage: InstrumentedStorage, text: string, contentType = 'text/plain') =>
  (await storage.write(text, { contentType })).key

let signer: UrlSigner
let servedStorages: InstrumentedStorage[] = [photos]
let failures: Array<{ error: unknown; failure: SendFailure }> = []
const server = await startHttpServer((request, response) => {
  void serveSignedUrl(request, response, servedStorages, signer, {
    onError: (error, failure) => failures.push({ error, failure }),
  })
})
afterAll(() => server.close())
const route = `${server.url}/files/signed`

beforeEach(() => {
  signer = createUrlSigner({ secrets: SECRET, baseUrl: route, now })
  servedStorages = [photos]
  failures = []
  photos.resetCounts()
  other.resetCounts()
})

const fetchUrl = (url: string, headers: Record<string, string> = {}) =>
  fetch(url, { headers, signal: AbortSignal.timeout(10_000) })

/** `url` with its query parameter `name` set to `value` (or removed, for undefined). */
function withParameter(url: string, name: string, value: string | undefined): string {
  const changed = new URL(url)
  if (value === undefined) changed.searchParams.delete(name)
  else changed.searchParams.set(name, value)
  return changed.href
}

describe('createUrlSigner', () => {
  it(`refuses secrets shorter than ${MIN_SECRET_BYTES} bytes, no secret, and a relative baseUrl`, () => {
    expect(() => createUrlSigner({ secrets: 'short', baseUrl: route })).toThrow(ConfigurationError)
    expect(() => createUrlSigner({ secrets: randomBytes(31), baseUrl: route })).toThrow(
      /31 bytes; use at least 32/,
    )
    expect(() => createUrlSigner({ secrets: [SECRET, 'x'.repeat(31)], baseUrl: route })).toThrow(
      /secret #2/,
    )
    expect(() => createUrlSigner({ secrets: [], baseUrl: route })).toThrow(ConfigurationError)
    expect(() => createUrlSigner({ secrets: SECRET, baseUrl: '/files' })).toThrow(
      ConfigurationError,
    )
    expect(() => createUrlSigner({ secrets: 'x'.repeat(32), baseUrl: route })).not.toThrow()
  })

  it('refuses an expiresIn that is no whole number of seconds > 0', () => {
    for (const expiresIn of [0, -1, 1.5, Number.NaN]) {
      expect(() => signer.signedUrl(photos, 'k', { expiresIn }), String(expiresIn)).toThrow(
        ConfigurationError,
      )
    }
  })

  it('signs a URL of the route, expiring when asked', () => {
    const signed = signer.signedUrl(photos, 'a/b.txt', { expiresIn: 60 })
    expect(signed.url.startsWith(`${route}?`)).toBe(true)
    expect(signed.expiresAt.getTime()).toBe(clock + 60_000)
  })
})

describe('serveSignedUrl', () => {
  it('serves what the URL grants, presented as it says, with ranges', async () => {
    const key = await stored(photos, 'hello, signed world')
    const { url } = signer.signedUrl(photos, key, {
      expiresIn: 60,
      disposition: 'attachment',
      fileName: 'greeting.txt',
      contentType: 'text/markdown',
    })
    const response = await fetchUrl(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('hello, signed world')
    expect(response.headers.get('content-disposition')).toBe('attachment; filename=greeting.txt')
    expect(response.headers.get('content-type')).toBe('text/markdown')
    const ranged = await fetchUrl(url, { range: 'bytes=0-4' })
    expect(ranged.status).toBe(206)
    expect(await ranged.text()).toBe('hello')
  })

  it('still applies the safety rules: an inline grant of HTML is served as an attachment', async () => {
    const key = await stored(photos, '<script>alert(1)</script>', 'text/html')
    const { url } = signer.signedUrl(photos, key, { expiresIn: 60, disposition: 'inline' })
    const response = await fetchUrl(url)
    expect(response.headers.get('content-disposition')).toBe('attachment')
    await response.arrayBuffer()
  })

  it('a URL altered in any granted field, or without its signature: 403, and nothing read', async () => {
    const key = await stored(photos, 'mine')
    const otherKey = await stored(photos, 'not yours')
    const { url } = signer.signedUrl(photos, key, {
      expiresIn: 60,
      disposition: 'attachment',
      fileName: 'mine.txt',
      contentType: 'text/plain',
    })
    const signature = new URL(url).searchParams.get('signature')!
    const altered = [
      withParameter(url, 'key', otherKey), // replayed for another key
      withParameter(url, 'expires', String(Math.floor(clock / 1000) + 3600)),
      withParameter(url, 'disposition', 'inline'),
      withParameter(url, 'disposition', undefined),
      withParameter(url, 'filename', 'evil.html'),
      withParameter(url, 'filename', undefined),
      withParameter(url, 'type', 'text/html'),
      withParameter(url, 'signature', undefined),
      withParameter(url, 'signature', signature.slice(0, -2)),
      withParameter(
        url,
        'signature',
        `${signature.slice(0, -1)}${signature.endsWith('A') ? 'B' : 'A'}`,
      ),
      `${url}&key=${encodeURIComponent(otherKey)}`, // a second key
      // The same expiry spelled otherwise: one URL per signature.
      withParameter(url, 'expires', `0${new URL(url).searchParams.get('expires')!}`),
      withParameter(url, 'expires', `+${new URL(url).searchParams.get('expires')!}`),
      `${route}?key=${encodeURIComponent(key)}`,
    ]
    for (const attempt of altered) {
      const response = await fetchUrl(attempt)
      expect(response.status, attempt).toBe(403)
      expect(await response.text()).toBe('Forbidden\n')
    }
    expect(photos.calls.stat + photos.calls.read).toBe(0)
    expect(failures).toHaveLength(altered.length)
    expect(failures.every(({ error }) => error instanceof SignedUrlRejectedError)).toBe(true)
    expect(failures.map(({ failure }) => failure.status)).toEqual(altered.map(() => 403))
    // The untouched URL still works.
    expect((await fetchUrl(url)).status).toBe(200)
  })

  it('an expired URL: 403, nothing read', async () => {
    const key = await stored(photos, 'soon gone')
    const { url } = signer.signedUrl(photos, key, { expiresIn: 60 })
    clock += 59_000
    expect((await fetchUrl(url)).status).toBe(200)
    photos.resetCounts()
    clock += 1_000
    const response = await fetchUrl(url)
    expect(response.status).toBe(403)
    await response.arrayBuffer()
    expect(photos.calls.stat + photos.calls.read).toBe(0)
    expect((failures[0]!.error as SignedUrlRejectedError).reason).toBe('expired')
  })

  it('a URL signed for another storage is refused by a route that serves only this one', async () => {
    const key = await stored(other, 'elsewhere')
    const { url } = signer.signedUrl(other, key, { expiresIn: 60 })
    servedStorages = [photos]
    expect((await fetchUrl(url)).status).toBe(403)
    expect(photos.calls.stat + photos.calls.read).toBe(0)
    servedStorages = [photos, other]
    const response = await fetchUrl(url)
    expect(response.status).toBe(200)
    expect(await response.text()).toBe('elsewhere')
    expect(other.calls.read).toBe(1)
  })

  it('rotation: signs with the first secret, accepts any; a dropped secret no longer verifies', async () => {
    const key = await stored(photos, 'rotated')
    const oldSecret = SECRET
    const newSecret = randomBytes(32)
    const fromOld = signer.signedUrl(photos, key, { expiresIn: 60 }).url
    signer = createUrlSigner({ secrets: [newSecret, oldSecret], baseUrl: route, now })
    const fromNew = signer.signedUrl(photos, key, { expiresIn: 60 }).url
    expect(fromNew).not.toBe(fromOld)
    expect((await fetchUrl(fromOld)).status).toBe(200)
    expect((await fetchUrl(fromNew)).status).toBe(200)
    signer = createUrlSigner({ secrets: [newSecret], baseUrl: route, now })
    expect((await fetchUrl(fromOld)).status).toBe(403)
    expect((await fetchUrl(fromNew)).status).toBe(200)
    signer = createUrlSigner({ secrets: [oldSecret], baseUrl: route, now })
    expect((await fetchUrl(fromNew)).status).toBe(403) // it was signed with the new one
  })

  it('a missing object behind a valid URL: 404', async () => {
    const { url } = signer.signedUrl(photos, 'no/such/key', { expiresIn: 60 })
    const response = await fetchUrl(url)
    expect(response.status).toBe(404)
    await response.arrayBuffer()
  })
})
