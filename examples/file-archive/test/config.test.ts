/** Which database and storage the archive picks from the environment. */
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { describeConfig, PACKAGE_DIR, resolveConfig } from '../src/config.js'

describe('resolveConfig', () => {
  it('defaults to SQLite and the in-process S3 server under the example directory', () => {
    const config = resolveConfig({}, '/somewhere')
    expect(config.dataDir).toBe(path.join(PACKAGE_DIR, 'archive-data'))
    expect(config.database).toEqual({
      kind: 'sqlite',
      file: path.join(PACKAGE_DIR, 'archive-data', 'archive.sqlite'),
    })
    expect(config.storage).toMatchObject({
      kind: 'embedded-s3',
      bucket: 'file-archive',
      prefix: '',
    })
    expect(describeConfig(config).join('\n')).toMatch(/embedded default/)
  })

  it('uses AWS_S3_ENDPOINT_URL first, then the SDK variables', () => {
    expect(
      resolveConfig({ AWS_S3_ENDPOINT_URL: 'http://minio:9000', AWS_ENDPOINT_URL: 'http://other' })
        .storage,
    ).toMatchObject({
      kind: 's3-endpoint',
      endpoint: 'http://minio:9000',
      variable: 'AWS_S3_ENDPOINT_URL',
    })
    expect(resolveConfig({ AWS_ENDPOINT_URL_S3: 'http://s3only' }).storage).toMatchObject({
      variable: 'AWS_ENDPOINT_URL_S3',
    })
  })

  it('uses AWS itself when credentials and no endpoint are given', () => {
    const config = resolveConfig({
      AWS_ACCESS_KEY_ID: 'a',
      AWS_SECRET_ACCESS_KEY: 'b',
      AWS_REGION: 'eu-west-3',
      ARCHIVE_BUCKET: 'mine',
    })
    expect(config.storage).toEqual({ kind: 'aws', bucket: 'mine', prefix: '', region: 'eu-west-3' })
    expect(resolveConfig({ AWS_PROFILE: 'work' }).storage.kind).toBe('aws')
    // A key id alone is not credentials.
    expect(resolveConfig({ AWS_ACCESS_KEY_ID: 'a' }).storage.kind).toBe('embedded-s3')
  })

  it('uses PostgreSQL with DATABASE_URL, and never prints its password', () => {
    const config = resolveConfig({ DATABASE_URL: 'postgres://me:secret@db:5432/archive' })
    expect(config.database).toEqual({
      kind: 'postgres',
      url: 'postgres://me:secret@db:5432/archive',
    })
    const described = describeConfig(config).join('\n')
    expect(described).toContain('postgres://me:***@db:5432/archive')
    expect(described).not.toContain('secret')
  })

  it('resolves ARCHIVE_DIR against the working directory', () => {
    expect(resolveConfig({ ARCHIVE_DIR: 'data' }, '/srv/app').dataDir).toBe('/srv/app/data')
  })
})
