import { ConfigurationError } from '@attrstore/core'
import { S3Client } from '@aws-sdk/client-s3'
import { S3Storage } from '@attrstore/s3'
import { bucketNameProblem } from '../src/bucket.js'
import { resolveS3Config } from '../src/config.js'
import { describe, expect, it } from 'vitest'

const resolve = (options: Record<string, unknown>, env: Record<string, string> = {}) =>
  resolveS3Config({ bucket: 'my-bucket', ...options } as never, env)

describe('endpoint precedence: option > AWS_S3_ENDPOINT_URL > AWS_ENDPOINT_URL_S3 > AWS_ENDPOINT_URL > AWS', () => {
  const env = {
    AWS_S3_ENDPOINT_URL: 'http://cube:9000',
    AWS_ENDPOINT_URL_S3: 'http://sdk-s3:9000',
    AWS_ENDPOINT_URL: 'http://sdk-all:9000',
  }
  it('the explicit option wins', () => {
    const config = resolve({ endpoint: 'http://explicit:9000/' }, env)
    expect([config.endpoint, config.endpointSource]).toEqual(['http://explicit:9000', 'option'])
  })
  it("then the original's AWS_S3_ENDPOINT_URL", () => {
    expect(resolve({}, env).endpointSource).toBe('AWS_S3_ENDPOINT_URL')
    expect(resolve({}, env).endpoint).toBe('http://cube:9000')
  })
  it("then the SDK's AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL", () => {
    const { AWS_S3_ENDPOINT_URL: _, ...sdk } = env
    expect(resolve({}, sdk).endpoint).toBe('http://sdk-s3:9000')
    expect(resolve({}, { AWS_ENDPOINT_URL: env.AWS_ENDPOINT_URL }).endpoint).toBe(
      'http://sdk-all:9000',
    )
  })
  it('then AWS itself: no endpoint, virtual-hosted, SDK checksum defaults, region redirects followed', () => {
    const config = resolve({}, {})
    expect(config.endpoint).toBeUndefined()
    expect(config.endpointSource).toBe('aws')
    expect(config.clientConfig).toMatchObject({
      forcePathStyle: false,
      followRegionRedirects: true,
    })
    expect(config.clientConfig).not.toHaveProperty('requestChecksumCalculation')
    expect(config.clientConfig).not.toHaveProperty('region')
  })
  it('AWS_IGNORE_CONFIGURED_ENDPOINT_URLS silences the SDK variables, not ours', () => {
    const ignored = { ...env, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' }
    expect(resolve({}, ignored).endpoint).toBe('http://cube:9000')
    const { AWS_S3_ENDPOINT_URL: _, ...sdk } = ignored
    expect(resolve({}, sdk).endpoint).toBeUndefined()
  })
  it('empty variables count as unset', () => {
    expect(resolve({}, { AWS_S3_ENDPOINT_URL: ' ', AWS_ENDPOINT_URL: 'http://x:1' }).endpoint).toBe(
      'http://x:1',
    )
  })
})

describe('a custom endpoint', () => {
  it('means path-style, us-east-1 and checksums WHEN_REQUIRED by default', () => {
    expect(resolve({ endpoint: 'http://localhost:9000' }).clientConfig).toMatchObject({
      endpoint: 'http://localhost:9000',
      forcePathStyle: true,
      region: 'us-east-1',
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      followRegionRedirects: false,
    })
  })
  it('keeps what the user asks for', () => {
    const config = resolve({
      endpoint: 'http://localhost:9000',
      region: 'eu-west-3',
      forcePathStyle: false,
      clientConfig: { requestChecksumCalculation: 'WHEN_SUPPORTED' },
    })
    expect(config.clientConfig).toMatchObject({
      region: 'eu-west-3',
      forcePathStyle: false,
      requestChecksumCalculation: 'WHEN_SUPPORTED',
    })
  })
  it('takes the region from AWS_REGION, then AWS_DEFAULT_REGION', () => {
    const endpoint = 'http://localhost:9000'
    expect(
      resolve({ endpoint }, { AWS_REGION: 'ap-south-1', AWS_DEFAULT_REGION: 'x' }).region,
    ).toBe('ap-south-1')
    expect(resolve({ endpoint }, { AWS_DEFAULT_REGION: 'ca-central-1' }).region).toBe(
      'ca-central-1',
    )
  })
})

describe('credentials, anonymous access, requester pays', () => {
  it('passes explicit credentials and retry settings to the client', () => {
    const credentials = { accessKeyId: 'a', secretAccessKey: 'b' }
    const config = resolve({
      credentials,
      maxAttempts: 2,
      retryMode: 'adaptive',
      requestTimeout: 500,
    })
    expect(config.clientConfig).toMatchObject({
      credentials,
      maxAttempts: 2,
      retryMode: 'adaptive',
      requestHandler: { requestTimeout: 500 },
    })
  })
  it('AWS_SKIP_SIGNATURE (or anonymous: true) swaps in unsigned auth schemes', async () => {
    const config = resolve({}, { AWS_SKIP_SIGNATURE: 'true' })
    expect(config.anonymous).toBe(true)
    const schemes = config.clientConfig!.httpAuthSchemes!
    expect(schemes.map((scheme) => scheme.schemeId)).toEqual(['aws.auth#sigv4', 'aws.auth#sigv4a'])
    const request = { headers: {} }
    expect(await schemes[0]!.signer.sign(request as never, {} as never, {})).toBe(request)
    expect(resolve({ anonymous: false }, { AWS_SKIP_SIGNATURE: '1' }).anonymous).toBe(false)
    expect(resolve({}, {}).clientConfig).not.toHaveProperty('httpAuthSchemes')
  })
  it('AWS_REQUEST_PAYER turns requester pays on', () => {
    expect(resolve({}, { AWS_REQUEST_PAYER: 'yes' }).requestPayer).toBe(true)
    expect(resolve({}, {}).requestPayer).toBe(false)
  })
  it('refuses a boolean variable that is not one, naming it', () => {
    expect(() => resolve({}, { AWS_SKIP_SIGNATURE: 'maybe' })).toThrow(/AWS_SKIP_SIGNATURE="maybe"/)
  })
})

describe('a client of your own', () => {
  it('is used as is', () => {
    const client = new S3Client({ region: 'us-east-1' })
    const storage = new S3Storage({ bucket: 'b-1', client })
    expect(storage.client).toBe(client)
    expect(storage.config.clientConfig).toBeUndefined()
  })
  it('cannot be combined with connection options, which it would ignore', () => {
    const client = new S3Client({ region: 'us-east-1' })
    expect(
      () => new S3Storage({ bucket: 'b-1', client, endpoint: 'http://x:1', region: 'x' }),
    ).toThrow(/either `client` or connection options.*endpoint, region/)
  })
})

describe('malformed options are refused at construction, saying what to fix', () => {
  const cases: Array<[string, Record<string, unknown>, Record<string, string>, RegExp]> = [
    ['no bucket', { bucket: undefined }, {}, /needs a `bucket`/],
    ['empty bucket', { bucket: '' }, {}, /needs a `bucket`/],
    ['bad bucket', { bucket: 'My_Bucket' }, {}, /upper-case/],
    [
      'endpoint without scheme',
      { endpoint: 'localhost:9000' },
      {},
      /endpoint must be an http\(s\) URL/,
    ],
    ['endpoint not a URL', { endpoint: 'not a url' }, {}, /endpoint must be an http\(s\) URL/],
    ['s3:// as endpoint', { endpoint: 's3://bucket' }, {}, /S3Storage.fromUrl/],
    [
      'endpoint with credentials',
      { endpoint: 'http://k:s@host:9000' },
      {},
      /must not carry credentials/,
    ],
    ['endpoint with a query', { endpoint: 'http://host:9000/?x=1' }, {}, /query or a fragment/],
    [
      'bad env endpoint',
      {},
      { AWS_S3_ENDPOINT_URL: 'ftp://x' },
      /AWS_S3_ENDPOINT_URL must be an http/,
    ],
    ['escaping prefix', { prefix: 'a/../b' }, {}, /prefix "a\/..\/b" is not usable/],
    ['prefix with //', { prefix: 'a//b' }, {}, /prefix/],
    ['reserved prefix', { prefix: '.attrstore' }, {}, /prefix "\.attrstore".*reserved/],
    ['prefix inside the reserved area', { prefix: '.attrstore/probe' }, {}, /reserved/],
    ['prefix inside a reserved area lower down', { prefix: 'app/.attrstore/x' }, {}, /reserved/],
    ['tiny parts', { partSize: 1024 }, {}, /partSize must be an integer between 5 MiB/],
    ['zero queue', { queueSize: 0 }, {}, /queueSize must be an integer >= 1/],
    ['zero attempts', { maxAttempts: 0 }, {}, /maxAttempts/],
    ['bad SSE', { serverSideEncryption: 'rot13' }, {}, /serverSideEncryption must be "AES256"/],
    ['KMS key without KMS', { sseKmsKeyId: 'k' }, {}, /sseKmsKeyId needs serverSideEncryption/],
    ['bad conditionalWrites', { conditionalWrites: 'yes' }, {}, /conditionalWrites must be one of/],
    [
      'autoDelete not a boolean',
      { autoDelete: 'false' },
      {},
      /autoDelete must be one of true, false/,
    ],
    ['bad region', { region: 'EU West' }, {}, /region must look like/],
    ['hook not a function', { uploadParameters: {} }, {}, /uploadParameters must be a function/],
  ]
  for (const [label, options, env, message] of cases) {
    it(label, () => {
      let caught: unknown
      try {
        resolve(options, env)
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(ConfigurationError)
      expect((caught as Error).message).toMatch(message)
    })
  }
  it('normalises the prefix', () => {
    expect(resolve({ prefix: '/app/files/' }).keyPrefix).toBe('app/files/')
    expect(resolve({ prefix: '' }).keyPrefix).toBe('')
    expect(new S3Storage({ bucket: 'b-1', prefix: 'x/y/', region: 'us-east-1' }).prefix).toBe('x/y')
  })
})

describe('bucket names follow S3 rules', () => {
  const good = ['abc', 'my-bucket', 'my.bucket.v2', 'a'.repeat(63), '0bucket9']
  const bad: Array<[string, RegExp]> = [
    ['ab', /3 to 63/],
    ['a'.repeat(64), /3 to 63/],
    ['Bucket', /upper-case/],
    ['my_bucket', /lower-case letters, digits/],
    ['-bucket', /begin and end/],
    ['bucket.', /begin and end/],
    ['my..bucket', /".."/],
    ['192.168.5.4', /IP address/],
    ['xn--bucket', /reserved "xn--"/],
    ['sthree-bucket', /reserved "sthree-"/],
    ['bucket-s3alias', /reserved "-s3alias"/],
    ['bucket--ol-s3', /reserved "--ol-s3"/],
    ['bucket.mrap', /reserved ".mrap"/],
  ]
  for (const name of good)
    it(`accepts ${name.length > 20 ? `${name.length} letters` : name}`, () => {
      expect(bucketNameProblem(name)).toBeUndefined()
    })
  for (const [name, problem] of bad)
    it(`refuses ${name.length > 20 ? `${name.length} letters` : name}`, () => {
      expect(bucketNameProblem(name)).toMatch(problem)
    })
  it('lenient mode accepts legacy and gateway names, not URL breakers', () => {
    expect(bucketNameProblem('Legacy_Bucket', false)).toBeUndefined()
    expect(bucketNameProblem('master.my_repo', false)).toBeUndefined()
    expect(bucketNameProblem('a/b', false)).toMatch(/"\/"/)
    expect(bucketNameProblem('a b', false)).toMatch(/space/)
    expect(
      new S3Storage({ bucket: 'master.Images_2', strictBucketName: false, region: 'us-east-1' })
        .bucket,
    ).toBe('master.Images_2')
  })
})
