import { ConfigurationError } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { parseS3Url } from '../src/url.js'
import { describe, expect, it } from 'vitest'

describe('fromUrl forms', () => {
  const cases: Array<[string, Record<string, unknown>]> = [
    ['s3://bucket-a', { bucket: 'bucket-a', prefix: '' }],
    ['s3://bucket-a/', { bucket: 'bucket-a', prefix: '' }],
    ['s3://bucket-a/app/files/', { bucket: 'bucket-a', prefix: 'app/files' }],
    ['s3a://bucket-a/app', { bucket: 'bucket-a', prefix: 'app' }],
    ['s3://bucket-a/with%20space/%23hash', { bucket: 'bucket-a', prefix: 'with space/#hash' }],
    [
      's3://bucket-a/app?region=eu-west-1',
      { bucket: 'bucket-a', prefix: 'app', region: 'eu-west-1' },
    ],
    [
      's3+http://localhost:9000/bucket-a/app',
      {
        bucket: 'bucket-a',
        prefix: 'app',
        endpoint: 'http://localhost:9000',
        forcePathStyle: true,
      },
    ],
    [
      's3+https://minio.example.org/bucket-a',
      {
        bucket: 'bucket-a',
        prefix: '',
        endpoint: 'https://minio.example.org',
        forcePathStyle: true,
      },
    ],
    [
      's3+http://[::1]:9000/bucket-a/x',
      { bucket: 'bucket-a', prefix: 'x', endpoint: 'http://[::1]:9000', forcePathStyle: true },
    ],
    [
      'https://s3.eu-west-3.amazonaws.com/bucket-a/app',
      { bucket: 'bucket-a', prefix: 'app', region: 'eu-west-3' },
    ],
    ['https://s3.amazonaws.com/bucket-a', { bucket: 'bucket-a', prefix: '', region: 'us-east-1' }],
    [
      'https://s3-eu-west-1.amazonaws.com/bucket-a',
      { bucket: 'bucket-a', prefix: '', region: 'eu-west-1' },
    ],
    [
      'https://bucket-a.s3.eu-west-3.amazonaws.com/app/x',
      { bucket: 'bucket-a', prefix: 'app/x', region: 'eu-west-3' },
    ],
    [
      'https://my.dotted.bucket.s3.us-west-2.amazonaws.com',
      { bucket: 'my.dotted.bucket', prefix: '', region: 'us-west-2' },
    ],
    ['https://bucket-a.s3.amazonaws.com/', { bucket: 'bucket-a', prefix: '', region: 'us-east-1' }],
    [
      'https://s3.cn-north-1.amazonaws.com.cn/bucket-a',
      { bucket: 'bucket-a', prefix: '', region: 'cn-north-1' },
    ],
    [
      'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com/bucket-a/app',
      {
        bucket: 'bucket-a',
        prefix: 'app',
        endpoint: 'https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com',
        region: 'auto',
        forcePathStyle: true,
      },
    ],
    [
      'https://0123456789abcdef0123456789abcdef.eu.r2.cloudflarestorage.com/bucket-a',
      {
        bucket: 'bucket-a',
        prefix: '',
        endpoint: 'https://0123456789abcdef0123456789abcdef.eu.r2.cloudflarestorage.com',
        region: 'auto',
        forcePathStyle: true,
      },
    ],
  ]
  for (const [url, expected] of cases) {
    it(url, () => {
      expect(parseS3Url(url)).toEqual(expected)
    })
  }

  it('builds a storage from each form', () => {
    const minio = S3Storage.fromUrl('s3+http://localhost:9000/bucket-a/app', { env: {} })
    expect([minio.bucket, minio.prefix, minio.endpoint]).toEqual([
      'bucket-a',
      'app',
      'http://localhost:9000',
    ])
    expect(minio.config.clientConfig).toMatchObject({ forcePathStyle: true, region: 'us-east-1' })
    const aws = S3Storage.fromUrl('https://bucket-a.s3.eu-west-3.amazonaws.com/x', { env: {} })
    expect([aws.endpoint, aws.config.region]).toEqual([undefined, 'eu-west-3'])
  })
  it('s3:// keeps the endpoint of the environment (the original AWS_S3_ENDPOINT_URL)', () => {
    const storage = S3Storage.fromUrl('s3://bucket-a/app', {
      env: { AWS_S3_ENDPOINT_URL: 'http://minio:9000' },
    })
    expect(storage.endpoint).toBe('http://minio:9000')
  })
  it('options override the URL, but not with another bucket', () => {
    const storage = S3Storage.fromUrl('s3+http://localhost:9000/bucket-a/app', {
      prefix: 'other',
      env: {},
    })
    expect(storage.prefix).toBe('other')
    expect(() => S3Storage.fromUrl('s3://bucket-a', { bucket: 'bucket-b', env: {} })).toThrow(
      /names bucket "bucket-a" but options.bucket is "bucket-b"/,
    )
  })
  it('lenient bucket names on request', () => {
    expect(
      parseS3Url('s3+http://gateway:30600/master.My_Repo', { strictBucketName: false }).bucket,
    ).toBe('master.My_Repo')
  })
})

describe('malformed URLs are refused with what to fix', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /it is empty/],
    ['bucket-a/prefix', /it is not a URL/],
    ['gs://bucket-a/x', /scheme "gs" is not an S3 scheme/],
    ['ftp://host/bucket-a', /scheme "ftp"/],
    ['s3://', /names no bucket/],
    ['s3:///prefix', /names no bucket/],
    ['s3://Bad_Bucket/x', /upper-case/],
    ['s3://ab/x', /3 to 63/],
    ['s3://bucket-a/../x', /\.\./],
    ['s3://bucket-a/a//b', /empty path segment/],
    ['s3://bucket-a/x#frag', /fragment.*%23/],
    ['s3://bucket-a/x?color=red', /unknown query parameter "color"/],
    ['s3://bucket-a/x?region=EU WEST', /is not a region/],
    ['s3://key:secret@bucket-a/x', /credentials in the URL are not accepted/],
    ['s3+http://key:secret@localhost:9000/bucket-a', /credentials in the URL/],
    ['s3+http://localhost:9000', /names no bucket/],
    ['s3+http://localhost:9000/', /names no bucket/],
    ['s3://bucket-a/%E0%A4%A', /percent-encoding/],
    ['s3+http://host/buck%2Fet/prefix', /percent-encoded "\/"/],
    ['s3+http://host/bucket-a/pre%2ffix', /percent-encoded "\/"/],
    ['s3://bucket-a/pre%2Ffix', /percent-encoded "\/"/],
    ['s3://buck%2Fet/prefix', /bucket name "buck\/et"/],
    ['https://s3.eu-west-1.amazonaws.com/buck%2Fet/x', /percent-encoded "\/"/],
    ['s3+http://host/bucket-a/.attrstore', /reserved/],
    ['s3://bucket-a/app/.attrstore/x', /reserved/],
    ['https://example.com/bucket-a', /neither AWS nor R2.*s3\+https:\/\/example.com/],
    ['http://s3.amazonaws.com/bucket-a', /over https/],
    ['https://s3.amazonaws.com:8443/bucket-a', /no port/],
    ['https://s3.amazonaws.com/', /names no bucket/],
    ['https://sqs.us-east-1.amazonaws.com/x', /not an S3 host of AWS/],
    ['https://abc.r2.cloudflarestorage.com/bucket-a', /neither AWS nor R2/],
  ]
  for (const [url, message] of cases) {
    it(JSON.stringify(url), () => {
      let caught: unknown
      try {
        S3Storage.fromUrl(url, { env: {} })
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(ConfigurationError)
      expect((caught as Error).message).toMatch(message)
      expect((caught as Error).message).toMatch(/Accepted forms: s3:\/\/<bucket>\/<prefix>/)
      // Errors end up in logs: a secret written into the URL is never quoted back.
      expect((caught as Error).message).not.toMatch(/secret/)
    })
  }
})
