// The same requests against any server that serves an object through sendObject: what
// each framework must pass on unchanged.
import { expect } from 'vitest'

/** The object every check serves: 20 bytes of text/plain. */
export const SERVED = Buffer.from('0123456789abcdefghij')

const request = (url: string, init: RequestInit = {}) =>
  fetch(url, { ...init, signal: AbortSignal.timeout(10_000) })

/**
 * 200, HEAD, 206, 304, 416 and 404 for `url` (serving {@link SERVED} as text/plain, with
 * `etag`) and `missingUrl` (serving no object).
 */
export async function checkServing(url: string, missingUrl: string, etag: string): Promise<void> {
  const whole = await request(url)
  expect(whole.status).toBe(200)
  expect(whole.headers.get('content-type')).toBe('text/plain')
  expect(whole.headers.get('content-length')).toBe('20')
  expect(whole.headers.get('etag')).toBe(etag)
  expect(whole.headers.get('accept-ranges')).toBe('bytes')
  expect(whole.headers.get('x-content-type-options')).toBe('nosniff')
  expect(Buffer.from(await whole.arrayBuffer())).toEqual(SERVED)

  const head = await request(url, { method: 'HEAD' })
  expect(head.status).toBe(200)
  expect(head.headers.get('content-length')).toBe('20')
  expect(head.headers.get('etag')).toBe(etag)
  expect((await head.arrayBuffer()).byteLength).toBe(0)

  const partial = await request(url, { headers: { range: 'bytes=5-9' } })
  expect(partial.status).toBe(206)
  expect(partial.headers.get('content-range')).toBe('bytes 5-9/20')
  expect(partial.headers.get('content-length')).toBe('5')
  expect(await partial.text()).toBe('56789')

  const notModified = await request(url, { headers: { 'if-none-match': etag } })
  expect(notModified.status).toBe(304)
  expect(notModified.headers.get('etag')).toBe(etag)
  expect(await notModified.text()).toBe('')

  const unsatisfiable = await request(url, { headers: { range: 'bytes=50-60' } })
  expect(unsatisfiable.status).toBe(416)
  expect(unsatisfiable.headers.get('content-range')).toBe('bytes */20')
  await unsatisfiable.arrayBuffer()

  const missing = await request(missingUrl)
  expect(missing.status).toBe(404)
  expect(await missing.text()).toBe('Not Found\n')
}
