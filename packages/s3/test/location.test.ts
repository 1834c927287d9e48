import { S3Client } from '@aws-sdk/client-s3'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import { afterAll, describe, expect, it } from 'vitest'

const storages: S3Storage[] = []
const credentials = { accessKeyId: 'a', secretAccessKey: 'b' }
const make = (options: Partial<S3StorageOptions>): S3Storage => {
  const storage = new S3Storage({ bucket: 'files', credentials, env: {}, ...options })
  storages.push(storage)
  return storage
}
const fromUrl = (url: string): S3Storage => {
  const storage = S3Storage.fromUrl(url, { credentials, env: {} })
  storages.push(storage)
  return storage
}
afterAll(() => {
  for (const storage of storages) storage.destroy()
})

describe('location: storages addressing the same objects share it', () => {
  it('AWS: s3://bucket/prefix, whatever the region, addressing or URL form', () => {
    const location = 's3://files/app/v1'
    expect(make({ prefix: 'app/v1' }).location).toBe(location)
    expect(make({ prefix: '/app/v1/', region: 'eu-west-1' }).location).toBe(location)
    expect(fromUrl('s3://files/app/v1').location).toBe(location)
    expect(fromUrl('https://s3.eu-west-1.amazonaws.com/files/app/v1').location).toBe(location)
    expect(fromUrl('https://files.s3.amazonaws.com/app/v1/').location).toBe(location)
    expect(make({ endpoint: 'https://s3.us-east-2.amazonaws.com' }).location).toBe('s3://files')
  })

  it('a custom endpoint: s3+http://host:port/bucket/prefix, normalised', () => {
    const location = 's3+http://minio.local:9000/files/app'
    expect(make({ endpoint: 'http://minio.local:9000', prefix: 'app' }).location).toBe(location)
    expect(make({ endpoint: 'http://MINIO.Local:9000/', prefix: 'app/' }).location).toBe(location)
    expect(
      make({ endpoint: 'http://minio.local:9000', prefix: 'app', forcePathStyle: false }).location,
    ).toBe(location)
    expect(fromUrl('s3+http://Minio.Local:9000/files/app/').location).toBe(location)
    expect(
      make({ env: { AWS_S3_ENDPOINT_URL: 'http://minio.local:9000' }, prefix: 'app' }).location,
    ).toBe(location)
    // Default ports are not written.
    expect(make({ endpoint: 'http://minio.local:80' }).location).toBe('s3+http://minio.local/files')
    expect(make({ endpoint: 'https://r2.example:443' }).location).toBe(
      's3+https://r2.example/files',
    )
  })

  it('reads back through fromUrl as the same location', () => {
    for (const storage of [
      make({ endpoint: 'http://127.0.0.1:9000', prefix: 'a b/ünï#%?' }),
      make({ prefix: 'x/y' }),
    ]) {
      expect(fromUrl(storage.location).location).toBe(storage.location)
      expect(fromUrl(storage.location).prefix).toBe(storage.prefix)
    }
  })

  it('differs with the bucket, the prefix, the endpoint or its scheme', () => {
    const base = make({ endpoint: 'http://minio.local:9000', prefix: 'app' }).location
    for (const other of [
      make({ endpoint: 'http://minio.local:9000', prefix: 'app2' }),
      make({ endpoint: 'http://minio.local:9000', prefix: 'app/inner' }),
      make({ endpoint: 'http://minio.local:9000' }),
      make({ endpoint: 'http://minio.local:9000', prefix: 'app', bucket: 'other' }),
      make({ endpoint: 'http://minio.local:9001', prefix: 'app' }),
      make({ endpoint: 'http://minio.other:9000', prefix: 'app' }),
      make({ endpoint: 'https://minio.local:9000', prefix: 'app' }),
      make({ prefix: 'app' }),
    ]) {
      expect(other.location).not.toBe(base)
    }
    // Nesting shows as a prefix test once a "/" ends both.
    const outer = `${make({ endpoint: 'http://minio.local:9000' }).location}/`
    expect(`${base}/`.startsWith(outer)).toBe(true)
    expect(
      `${make({ prefix: 'apple' }).location}/`.startsWith(`${make({ prefix: 'app' }).location}/`),
    ).toBe(false)
  })

  it('a client of yours: AWS when it has no endpoint; s3+custom:// when its endpoint cannot be seen', () => {
    const aws = new S3Client({ region: 'us-east-1', credentials })
    const custom = new S3Client({ region: 'us-east-1', credentials, endpoint: 'http://h:9000' })
    try {
      const onAws = new S3Storage({ bucket: 'files', client: aws, prefix: 'p' })
      expect(onAws.location).toBe('s3://files/p')
      const first = new S3Storage({ bucket: 'files', client: custom, prefix: 'p' })
      const second = new S3Storage({
        bucket: 'files',
        client: new S3Client({ region: 'us-east-1', credentials, endpoint: 'http://h:9000' }),
        prefix: 'p',
      })
      expect(first.location).toBe('s3+custom://files/p')
      expect(second.location).toBe(first.location)
      second.client.destroy()
    } finally {
      aws.destroy()
      custom.destroy()
    }
  })

  it('is not the per-instance default of BaseStorage', () => {
    expect(make({}).location).toBe('s3://files')
    expect(make({}).location).toBe(make({}).location)
  })
})
