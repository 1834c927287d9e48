import { expect } from 'vitest'
import { capabilityCheck } from './capability-check.js'
import type { SuiteContext } from './context.js'
import { writeRandomObject } from './fixtures.js'
import { fetchWhole, sleep } from './http.js'

/** Longest the expiry check waits past `expiresAt` (servers count expiry in whole seconds). */
const EXPIRY_GRACE_MS = 1_100

/** Every way a key may appear in a URL: as is, path-encoded, component-encoded. */
function spellings(key: string): string[] {
  return [...new Set([key, encodeURI(key), encodeURIComponent(key)])]
}

/**
 * `signedUrl`: the URL serves the exact bytes to a plain `fetch`, with the asked headers,
 * serves no other object when edited, and is refused once expired.
 */
export function describeSignedUrls(context: SuiteContext): void {
  capabilityCheck(
    context,
    'signedUrl',
    'a fetch of the URL gives the exact bytes',
    async (storage) => {
      const { key, content } = await writeRandomObject(storage, 5000)
      const before = Date.now()
      const signed = await storage.signedUrl(key, { expiresIn: 60 })
      expect(signed.expiresAt.getTime()).toBeGreaterThanOrEqual(before + 50_000)
      expect(signed.expiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 70_000)
      const fetched = await fetchWhole(signed.url)
      expect(fetched.status).toBe(200)
      expect(fetched.body.equals(content)).toBe(true)
    },
    undefined,
    ['http'],
  )

  capabilityCheck(
    context,
    'signedUrl',
    'disposition, fileName and contentType show in the response headers when asked',
    async (storage) => {
      const { key } = await storage.write('%PDF-1.7 not really')
      const attachment = await fetchWhole(
        (
          await storage.signedUrl(key, {
            expiresIn: 60,
            disposition: 'attachment',
            fileName: 'report 2026.pdf',
            contentType: 'application/pdf',
          })
        ).url,
      )
      expect(attachment.ok).toBe(true)
      expect(attachment.headers.get('content-type')).toMatch(/^application\/pdf\b/)
      const disposition = attachment.headers.get('content-disposition') ?? ''
      expect(disposition).toMatch(/^attachment\b/i)
      expect(decodeURIComponent(disposition)).toContain('report 2026.pdf')
      expect(attachment.body.toString()).toBe('%PDF-1.7 not really')

      const inline = await fetchWhole(
        (await storage.signedUrl(key, { expiresIn: 60, disposition: 'inline' })).url,
      )
      expect(inline.ok).toBe(true)
      expect(inline.headers.get('content-disposition') ?? '').toMatch(/^inline\b/i)
    },
    undefined,
    ['http', 'responseHeaders'],
  )

  capabilityCheck(
    context,
    'signedUrl',
    'the URL of key A never serves B',
    async (storage) => {
      const a = await storage.write('object A')
      const b = await storage.write('object B, another one')
      const urlA = (await storage.signedUrl(a.key, { expiresIn: 60 })).url
      const urlB = (await storage.signedUrl(b.key, { expiresIn: 60 })).url
      expect((await fetchWhole(urlA)).body.toString()).toBe('object A')
      expect((await fetchWhole(urlB)).body.toString()).toBe('object B, another one')
      // A's URL edited to name B: the signature covers the key, so it must not serve B.
      const spellingsOfB = spellings(b.key)
      const edited = spellings(a.key).flatMap((spelling, index) =>
        urlA.includes(spelling) ? [urlA.split(spelling).join(spellingsOfB[index] ?? b.key)] : [],
      )
      for (const url of new Set(edited)) {
        const fetched = await fetchWhole(url)
        expect(
          fetched.ok && fetched.body.toString() === 'object B, another one',
          `${url} served B`,
        ).toBe(false)
      }
    },
    undefined,
    ['http', 'signatures'],
  )

  capabilityCheck(
    context,
    'signedUrl',
    'an expired URL is refused with a non-2xx status',
    async (storage) => {
      const { key } = await storage.write('short-lived')
      const signed = await storage.signedUrl(key, { expiresIn: 1 })
      const wait = signed.expiresAt.getTime() - Date.now() + EXPIRY_GRACE_MS
      // Bounded: an expiresAt far in the future fails below instead of stalling the run.
      await sleep(Math.min(Math.max(wait, 0), 3_000))
      const fetched = await fetchWhole(signed.url)
      expect(fetched.ok, `status ${fetched.status} after expiry`).toBe(false)
    },
    20_000,
    ['http', 'expiry'],
  )
}
