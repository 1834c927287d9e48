import { InvalidKeyError } from '@attrstore/core'
import { assertValidKey } from '@attrstore/core/driver'

/**
 * The references S3Storage keeps in database columns.
 *
 * - Unversioned object: the reference IS the key, relative to the storage's prefix:
 *   `invoices/2024/3f1c….pdf`. Any valid attrstore key, with `#`, `?`, `%`, `+`, spaces
 *   or unicode in it, is its own reference, unchanged.
 * - Versioned object (the bucket has versioning on): `<key>//versionId=<id>`, the version
 *   id percent-encoded (`encodeURIComponent`), e.g. `a/b.pdf//versionId=3%2FL4kq…`.
 *
 * Why `//`: a valid attrstore key never contains an empty path segment (`assertValidKey`
 * refuses `a//b` and a trailing `/`), so the first `//` of a reference can only be the
 * version separator, whatever characters the key holds. The original's `key#version`
 * split broke on keys containing `#`; this one has no such case. The encoded version id
 * holds no `/`, so the split is unambiguous from either end.
 */
export const VERSION_SEPARATOR = '//versionId='

/** A reference taken apart. */
export interface ParsedReference {
  /** The key, relative to the storage's prefix. */
  key: string
  /** The pinned version, when the reference pins one. */
  versionId?: string
}

/** Builds the reference of a key and, when the object is versioned, its version. */
export function formatReference(key: string, versionId?: string): string {
  assertValidKey(key)
  if (versionId === undefined || versionId === '' || versionId === 'null') return key
  return `${key}${VERSION_SEPARATOR}${encodeURIComponent(versionId)}`
}

/**
 * Takes a reference apart, validating its key. Throws `InvalidKeyError` for anything
 * that is neither a valid key nor `<valid key>//versionId=<id>`.
 */
export function parseReference(reference: unknown): ParsedReference {
  if (typeof reference !== 'string') return { key: assertValidKey(reference) }
  const at = reference.indexOf('//')
  if (at === -1) return { key: assertValidKey(reference) }
  const key = reference.slice(0, at)
  const rest = reference.slice(at)
  if (!rest.startsWith(VERSION_SEPARATOR) || rest.length === VERSION_SEPARATOR.length) {
    throw new InvalidKeyError(
      reference,
      `"//" may only introduce a version, as in "<key>${VERSION_SEPARATOR}<id>"`,
    )
  }
  const encoded = rest.slice(VERSION_SEPARATOR.length)
  let versionId: string
  try {
    versionId = decodeURIComponent(encoded)
  } catch {
    throw new InvalidKeyError(reference, 'its version id is not valid percent-encoding')
  }
  if (encodeURIComponent(versionId) !== encoded) {
    throw new InvalidKeyError(
      reference,
      'its version id must be percent-encoded with encodeURIComponent',
    )
  }
  return { key: assertValidKey(key), versionId }
}
