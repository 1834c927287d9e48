import { InvalidKeyError } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { formatReference, parseReference, VERSION_SEPARATOR } from '../src/reference.js'
import { describe, expect, it } from 'vitest'

const KEYS = [
  'plain',
  'a/b/c.pdf',
  'hash#fragment',
  'key#v1',
  'question?versionId=x',
  'percent%20%zz%2F',
  'plus+sign+',
  'ünïcödé/ключ/日本語 🚀',
  'with spaces/a b  c.txt',
  'mixed # ? % + é/ end',
  'versionId=looks/like#one',
  'a/b/c/d/e/f/g/h',
]
const VERSIONS = [
  '3HL4kqtJlcpXroDTDmJ-rmSpXd3dIbrHY',
  '3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo',
  '6fd3d1a8-1f09-4c5e-9a53-2b0f1c1e4f22',
  'odd#?%&=/ id',
]

describe('references', () => {
  it('an unversioned reference is the key itself, whatever it contains', () => {
    for (const key of KEYS) {
      expect(formatReference(key)).toBe(key)
      expect(formatReference(key, 'null')).toBe(key)
      expect(parseReference(key)).toEqual({ key })
    }
  })
  it('key and version round-trip through a versioned reference', () => {
    for (const key of KEYS) {
      for (const versionId of VERSIONS) {
        const reference = formatReference(key, versionId)
        expect(reference.startsWith(`${key}${VERSION_SEPARATOR}`)).toBe(true)
        expect(parseReference(reference)).toEqual({ key, versionId })
      }
    }
  })
  it('is canonical: one reference per key and version', () => {
    expect(formatReference('a/b', '3/L+x')).toBe('a/b//versionId=3%2FL%2Bx')
    expect(() => parseReference('a/b//versionId=3%2fL%2Bx')).toThrow(/encodeURIComponent/)
    expect(() => parseReference('a/b//versionId=3/L')).toThrow(/encodeURIComponent/)
  })
  it('refuses what is neither a key nor key//versionId=id', () => {
    for (const bad of [
      'a//b',
      'a//versionId=',
      '//versionId=x',
      '../x//versionId=y',
      'a//versionid=x',
      'a//versionId=%E0%A4%A',
      '',
      'a/',
    ]) {
      expect(() => parseReference(bad), bad).toThrow(InvalidKeyError)
    }
  })
  it('S3Storage refuses its reserved area and bad references before any request', async () => {
    const storage = new S3Storage({
      bucket: 'bucket-a',
      endpoint: 'http://127.0.0.1:9',
      maxAttempts: 1,
      env: {},
    })
    await expect(storage.read('.attrstore/probe/x')).rejects.toThrow(/reserved/)
    await expect(storage.stat('a//b')).rejects.toBeInstanceOf(InvalidKeyError)
    expect(() => storage.locate('a//nope')).toThrow(InvalidKeyError)
    expect(
      new S3Storage({ bucket: 'bucket-a', prefix: 'p', region: 'us-east-1', env: {} }).locate(
        'k//versionId=v%2F1',
      ),
    ).toEqual({
      bucket: 'bucket-a',
      key: 'p/k',
      versionId: 'v/1',
    })
  })
})
