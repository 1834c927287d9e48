import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import type { DirectUpload } from '../contract.js'
import { capabilityCheck } from './capability-check.js'
import { directUploadRequest } from './direct-upload-request.js'
import type { SuiteContext } from './context.js'
import { fetchWhole, type Fetched } from './http.js'

/**
 * Sends `body` the way a browser would ({@link directUploadRequest}). A server may cut a
 * refused body short: a failed request counts as a refusal (`undefined`).
 */
async function send(
  upload: DirectUpload,
  body: Buffer,
  contentType: string,
): Promise<Fetched | undefined> {
  return fetchWhole(upload.url, directUploadRequest(upload, body, contentType)).catch(
    () => undefined,
  )
}

/**
 * `createDirectUpload`: an upload sent as told creates the object under the returned key,
 * and the server refuses a body over `maxSize`, leaving nothing.
 */
export function describeDirectUploads(context: SuiteContext): void {
  const contentType = 'application/octet-stream'

  capabilityCheck(
    context,
    'createDirectUpload',
    'uploading as told makes the object readable under the returned key, same bytes',
    async (storage) => {
      const content = randomBytes(3000)
      const upload = await storage.createDirectUpload({
        maxSize: 10_000,
        contentType,
        expiresIn: 60,
      })
      expect(['POST', 'PUT']).toContain(upload.method)
      expect(upload.expiresAt.getTime()).toBeGreaterThan(Date.now())
      expect(await storage.exists(upload.key)).toBe(false)
      const sent = await send(upload, content, contentType)
      expect(sent?.ok, `upload answered ${sent?.status ?? 'nothing'}`).toBe(true)
      expect((await storage.read(upload.key)).equals(content)).toBe(true)
    },
    undefined,
    ['http'],
  )

  capabilityCheck(
    context,
    'createDirectUpload',
    'a body over maxSize is refused by the server and leaves nothing readable',
    async (storage) => {
      const upload = await storage.createDirectUpload({ maxSize: 1000, contentType, expiresIn: 60 })
      const sent = await send(upload, randomBytes(5000), contentType)
      expect(sent?.ok ?? false, `an oversized upload answered ${sent?.status}`).toBe(false)
      expect(await storage.exists(upload.key)).toBe(false)
    },
    undefined,
    ['http', 'uploadPolicy'],
  )
}
