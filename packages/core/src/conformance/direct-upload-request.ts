import type { DirectUpload } from '../contract.js'

/**
 * The request a browser sends for a `DirectUpload`: for `POST`, a multipart form with the
 * upload's fields and then the file (`body` as `contentType`, named `upload.bin`); for
 * `PUT`, the bare body with the upload's headers (`contentType` unless they name one).
 * Send it to `upload.url`:
 *
 * ```ts
 * const response = await fetch(upload.url, directUploadRequest(upload, bytes, 'image/png'))
 * ```
 */
export function directUploadRequest(
  upload: DirectUpload,
  body: Buffer,
  contentType: string,
): RequestInit {
  if (upload.method === 'POST') {
    const form = new FormData()
    for (const [field, value] of Object.entries(upload.fields ?? {})) form.append(field, value)
    form.append('file', new Blob([new Uint8Array(body)], { type: contentType }), 'upload.bin')
    return { method: 'POST', body: form, ...(upload.headers ? { headers: upload.headers } : {}) }
  }
  const headers = new Headers(upload.headers)
  if (!headers.has('content-type')) headers.set('content-type', contentType)
  return { method: 'PUT', body: new Uint8Array(body), headers }
}
