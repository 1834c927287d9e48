import { ConfigurationError, InvalidKeyError } from '@attrstore/core'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import { parse as parseContentDisposition } from 'content-disposition'
import { describe, expect, it } from 'vitest'
import { contentDispositionOf, safeFileName } from '@attrstore/core/driver'
import { MAX_PRESIGNED_SECONDS } from '../src/presigning.js'

// Presigning is local: these cases need no server. What servers do with the URLs is in
// presigned.servers.test.ts.

const credentials = { accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'secret' }

function onAws(extra: Partial<S3StorageOptions> = {}): S3Storage {
  return new S3Storage({
    bucket: 'my-bucket',
    region: 'eu-west-3',
    prefix: 'app',
    credentials,
    env: {},
    ...extra,
  })
}

function policyOf(fields: Record<string, string> | undefined): {
  expiration: string
  conditions: unknown[]
} {
  return JSON.parse(Buffer.from(fields!.Policy!, 'base64').toString('utf8'))
}

describe('signedUrl, offline', () => {
  it('on AWS: virtual-hosted https://bucket.s3.region.amazonaws.com/prefix/key, the key path-encoded, SigV4 query', async () => {
    const storage = onAws()
    const before = Math.floor(Date.now() / 1000) * 1000
    const { url, expiresAt } = await storage.signedUrl('reports/a b+c#d.pdf', { expiresIn: 600 })
    const parsed = new URL(url)
    expect(parsed.protocol).toBe('https:')
    expect(parsed.host).toBe('my-bucket.s3.eu-west-3.amazonaws.com')
    expect(parsed.pathname).toBe('/app/reports/a%20b%2Bc%23d.pdf')
    expect(parsed.searchParams.get('X-Amz-Algorithm')).toBe('AWS4-HMAC-SHA256')
    expect(parsed.searchParams.get('X-Amz-Expires')).toBe('600')
    expect(parsed.searchParams.get('X-Amz-Credential')).toMatch(
      /^AKIAEXAMPLE\/\d{8}\/eu-west-3\/s3\/aws4_request$/,
    )
    expect(parsed.searchParams.get('X-Amz-SignedHeaders')).toBe('host')
    // The SDK's flexible checksums add x-amz-checksum-mode on AWS: a URL carries none.
    expect([...parsed.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([])
    expect(parsed.searchParams.has('versionId')).toBe(false)
    // expiresAt is X-Amz-Date (whole seconds) + expiresIn.
    const date = parsed.searchParams.get('X-Amz-Date')!
    const signedAt = Date.parse(
      `${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6, 11)}:${date.slice(11, 13)}:${date.slice(13, 15)}Z`,
    )
    expect(signedAt).toBeGreaterThanOrEqual(before)
    expect(expiresAt.getTime()).toBe(signedAt + 600_000)
    storage.destroy()
  })

  it('at a custom endpoint: path style http://host:port/bucket/prefix/key', async () => {
    const storage = new S3Storage({
      bucket: 'files',
      endpoint: 'http://127.0.0.1:9000',
      prefix: 'p',
      credentials,
      env: {},
    })
    const parsed = new URL((await storage.signedUrl('k.txt', { expiresIn: 60 })).url)
    expect(`${parsed.origin}${parsed.pathname}`).toBe('http://127.0.0.1:9000/files/p/k.txt')
    expect(parsed.searchParams.get('X-Amz-Credential')).toContain('/us-east-1/s3/aws4_request')
    storage.destroy()
  })

  it('pins the version a reference carries (versionId), and signs it', async () => {
    const storage = onAws()
    const parsed = new URL(
      (await storage.signedUrl('a/b.pdf//versionId=3%2FL4kq', { expiresIn: 60 })).url,
    )
    expect(parsed.pathname).toBe('/app/a/b.pdf')
    expect(parsed.searchParams.get('versionId')).toBe('3/L4kq')
    storage.destroy()
  })

  it('asks for Content-Disposition (filename* in UTF-8, ASCII fallback) and Content-Type', async () => {
    const storage = onAws()
    const parsed = new URL(
      (
        await storage.signedUrl('k', {
          expiresIn: 60,
          disposition: 'inline',
          fileName: 'Résumé 履歴書.pdf',
          contentType: 'application/pdf',
        })
      ).url,
    )
    const disposition = parsed.searchParams.get('response-content-disposition')!
    expect(disposition).toBe(
      `inline; filename="R_sum_ ___.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%20%E5%B1%A5%E6%AD%B4%E6%9B%B8.pdf`,
    )
    expect(parseContentDisposition(disposition)).toEqual({
      type: 'inline',
      parameters: { filename: 'Résumé 履歴書.pdf' },
    })
    expect(parsed.searchParams.get('response-content-type')).toBe('application/pdf')
    // A file name alone: attachment.
    const named = new URL((await storage.signedUrl('k', { expiresIn: 60, fileName: 'a.txt' })).url)
    expect(named.searchParams.get('response-content-disposition')).toBe(
      'attachment; filename=a.txt',
    )
    const plain = new URL((await storage.signedUrl('k', { expiresIn: 60 })).url)
    expect(plain.searchParams.has('response-content-disposition')).toBe(false)
    expect(plain.searchParams.has('response-content-type')).toBe(false)
    storage.destroy()
  })

  it('expiresIn: whole seconds from 1 to 7 days, else ConfigurationError', async () => {
    const storage = onAws()
    for (const expiresIn of [0, -1, 0.5, MAX_PRESIGNED_SECONDS + 1, Number.NaN, Infinity, '60']) {
      await expect(
        storage.signedUrl('k', { expiresIn: expiresIn as number }),
        String(expiresIn),
      ).rejects.toBeInstanceOf(ConfigurationError)
    }
    await expect(storage.signedUrl('k', { expiresIn: 1 })).resolves.toHaveProperty('url')
    const longest = await storage.signedUrl('k', { expiresIn: MAX_PRESIGNED_SECONDS })
    expect(new URL(longest.url).searchParams.get('X-Amz-Expires')).toBe('604800')
    storage.destroy()
  })

  it('refuses what is no reference, a media type that could end a header, a disposition of neither kind, an anonymous storage', async () => {
    const storage = onAws()
    await expect(storage.signedUrl('../etc/passwd', { expiresIn: 60 })).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
    await expect(storage.signedUrl('.attrstore/probe/x', { expiresIn: 60 })).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
    await expect(
      storage.signedUrl('k', { expiresIn: 60, contentType: 'text/html\r\nSet-Cookie: a=b' }),
    ).rejects.toBeInstanceOf(ConfigurationError)
    await expect(
      storage.signedUrl('k', { expiresIn: 60, disposition: 'download' as 'inline' }),
    ).rejects.toBeInstanceOf(ConfigurationError)
    const anonymous = onAws({ anonymous: true, credentials: undefined })
    await expect(anonymous.signedUrl('k', { expiresIn: 60 })).rejects.toThrow(/anonymous/)
    storage.destroy()
    anonymous.destroy()
  })
})

describe('contentDispositionOf', () => {
  it('only printable ASCII comes out, whatever the name: no header or parameter can be added', () => {
    for (const name of [
      'a\r\nSet-Cookie: x=y.txt',
      'quote".txt',
      'semi;colon=x.txt',
      '\u0000nul\u007f.txt',
      'é.txt',
      '😀.png',
      'invoice\u202efdp.exe',
    ]) {
      const header = contentDispositionOf('attachment', name)
      expect(header, name).toMatch(/^[\x20-\x7e]+$/)
      // What reaches the header is the name without control characters (safeFileName).
      expect(parseContentDisposition(header).parameters.filename, name).toBe(safeFileName(name))
      expect(header, name).not.toMatch(/%E2%80%AE/i) // no right-to-left override survives
    }
  })

  it('keeps the last path segment of a name, and no name gives the bare disposition', () => {
    expect(contentDispositionOf('attachment', 'dir/sub/report.pdf')).toBe(
      'attachment; filename=report.pdf',
    )
    expect(contentDispositionOf('attachment', 'C:\\Users\\me\\report.pdf')).toBe(
      'attachment; filename=report.pdf',
    )
    expect(contentDispositionOf('inline', undefined)).toBe('inline')
    expect(contentDispositionOf('inline', '')).toBe('inline')
  })
})

describe('createDirectUpload, offline', () => {
  it('POST: a form to the bucket whose policy pins the key, the size range 0..maxSize, the media type and the expiry', async () => {
    // The default generator: a random key, so no HEAD is sent (a generator of yours gets
    // its key checked absent: presigned.servers.test.ts).
    const storage = onAws()
    const upload = await storage.createDirectUpload({
      context: { fileName: 'photo.jpg' },
      maxSize: 5_000_000,
      expiresIn: 300,
    })
    expect(upload.key).toMatch(/^[0-9a-f-]{36}$/)
    const objectKey = `app/${upload.key}`
    expect(upload).toMatchObject({
      method: 'POST',
      url: 'https://my-bucket.s3.eu-west-3.amazonaws.com/',
    })
    const { fields } = upload
    expect(fields).toMatchObject({
      key: objectKey,
      // Inferred from the file name, as write() records it.
      'Content-Type': 'image/jpeg',
      'X-Amz-Algorithm': 'AWS4-HMAC-SHA256',
    })
    expect(fields!['X-Amz-Signature']).toMatch(/^[0-9a-f]{64}$/)
    const policy = policyOf(fields)
    expect(policy.conditions).toContainEqual(['content-length-range', 0, 5_000_000])
    expect(policy.conditions).toContainEqual({ key: objectKey })
    expect(policy.conditions).toContainEqual({ 'Content-Type': 'image/jpeg' })
    expect(policy.conditions).toContainEqual({ bucket: 'my-bucket' })
    // Every field sent is in the policy (S3 refuses a form with a field the policy lacks).
    for (const [name, value] of Object.entries(fields!)) {
      if (name === 'Policy' || name === 'X-Amz-Signature') continue
      expect(policy.conditions, name).toContainEqual({ [name]: value })
    }
    expect(Date.parse(policy.expiration)).toBeGreaterThanOrEqual(upload.expiresAt.getTime())
    expect(Date.parse(policy.expiration) - upload.expiresAt.getTime()).toBeLessThan(2_000)
    storage.destroy()
  })

  it('POST: the media type asked wins; none asked and no file name: application/octet-stream, as write() records', async () => {
    const storage = onAws()
    const asked = await storage.createDirectUpload({
      maxSize: 10,
      contentType: 'application/pdf',
      expiresIn: 60,
    })
    expect(asked.fields!['Content-Type']).toBe('application/pdf')
    const unnamed = await storage.createDirectUpload({ maxSize: 10, expiresIn: 60 })
    expect(unnamed.fields!['Content-Type']).toBe('application/octet-stream')
    // The default generator's keys: random UUIDs, a new one each time.
    expect(unnamed.key).toMatch(/^[0-9a-f-]{36}$/)
    expect(unnamed.key).not.toBe(asked.key)
    // Active content is never inferred from a name alone.
    const html = await storage.createDirectUpload({
      context: { fileName: 'page.html' },
      maxSize: 10,
      expiresIn: 60,
    })
    expect(html.fields!['Content-Type']).toBe('application/octet-stream')
    storage.destroy()
  })

  it('POST: server-side encryption and storage class go along as signed fields', async () => {
    const storage = onAws({
      serverSideEncryption: 'aws:kms',
      sseKmsKeyId: 'key-1',
      storageClass: 'STANDARD_IA',
    })
    const { fields } = await storage.createDirectUpload({ maxSize: 10, expiresIn: 60 })
    expect(fields).toMatchObject({
      'x-amz-server-side-encryption': 'aws:kms',
      'x-amz-server-side-encryption-aws-kms-key-id': 'key-1',
      'x-amz-storage-class': 'STANDARD_IA',
    })
    expect(policyOf(fields).conditions).toContainEqual({ 'x-amz-storage-class': 'STANDARD_IA' })
    storage.destroy()
  })

  it('PUT: signs the exact Content-Length, the media type and If-None-Match, carries no checksum of an empty body', async () => {
    const storage = onAws({ directUploads: 'put', serverSideEncryption: 'AES256' })
    const upload = await storage.createDirectUpload({
      maxSize: 100,
      size: 42,
      contentType: 'text/plain',
      expiresIn: 60,
    })
    expect(upload.method).toBe('PUT')
    expect(upload.headers).toEqual({
      'if-none-match': '*',
      'content-type': 'text/plain',
      'x-amz-server-side-encryption': 'AES256',
    })
    const parsed = new URL(upload.url)
    expect(parsed.host).toBe('my-bucket.s3.eu-west-3.amazonaws.com')
    expect(parsed.pathname).toBe(`/app/${upload.key}`)
    expect(parsed.searchParams.get('X-Amz-SignedHeaders')!.split(';')).toEqual(
      expect.arrayContaining([
        'content-length',
        'content-type',
        'if-none-match',
        'x-amz-server-side-encryption',
      ]),
    )
    expect([...parsed.searchParams.keys()].filter((name) => /checksum/i.test(name))).toEqual([])
    storage.destroy()
  })

  it('refuses a PUT without its size or over maxSize, bad sizes and expiries, an unknown method, an anonymous storage', async () => {
    const put = onAws({ directUploads: 'put' })
    await expect(put.createDirectUpload({ maxSize: 10, expiresIn: 60 })).rejects.toThrow(
      /size \(the exact body size/,
    )
    await expect(
      put.createDirectUpload({ maxSize: 10, size: 11, expiresIn: 60 }),
    ).rejects.toBeInstanceOf(ConfigurationError)
    const post = onAws()
    for (const options of [
      { maxSize: -1, expiresIn: 60 },
      { maxSize: 1.5, expiresIn: 60 },
      { maxSize: 10, expiresIn: 0 },
      { maxSize: 10, expiresIn: MAX_PRESIGNED_SECONDS + 1 },
      { maxSize: 10, expiresIn: 60, contentType: 'text/plain\nx: y' },
    ]) {
      await expect(
        post.createDirectUpload(options),
        JSON.stringify(options),
      ).rejects.toBeInstanceOf(ConfigurationError)
    }
    const unknown = onAws({ directUploads: 'patch' as 'put' })
    await expect(unknown.createDirectUpload({ maxSize: 1, expiresIn: 60 })).rejects.toBeInstanceOf(
      ConfigurationError,
    )
    const anonymous = onAws({ anonymous: true, credentials: undefined })
    await expect(anonymous.createDirectUpload({ maxSize: 1, expiresIn: 60 })).rejects.toThrow(
      /anonymous/,
    )
    // Checked before any request: a generator of yours is otherwise asked about with a HEAD.
    const reserved = onAws({ keyGenerator: () => '.attrstore/x' })
    await expect(reserved.createDirectUpload({ maxSize: 1, expiresIn: 60 })).rejects.toBeInstanceOf(
      InvalidKeyError,
    )
    for (const storage of [put, post, unknown, anonymous, reserved]) storage.destroy()
  })
})
