import { ConfigurationError } from '@attrstore/core'
import { assertValidKey } from '@attrstore/core/driver'
import { RESERVED_PREFIX } from './session.js'

/**
 * What is wrong with a bucket name, or `undefined` when it is fine.
 *
 * `strict` (the default) applies AWS's rules for general-purpose buckets: 3 to 63
 * characters; lower-case letters, digits, dots and hyphens; a letter or digit at both
 * ends; no "..", no IP-address form, no reserved prefix (`xn--`, `sthree-`,
 * `amzn-s3-demo-`) or suffix (`-s3alias`, `--ol-s3`, `.mrap`, `--x-s3`, `--table-s3`).
 * Lenient mode (`strictBucketName: false`) accepts the legacy and gateway names some
 * S3-compatible servers allow (upper case, underscores, up to 255 characters) and only
 * refuses what cannot work in a URL path at all.
 */
export function bucketNameProblem(name: unknown, strict = true): string | undefined {
  if (typeof name !== 'string' || name === '') return 'is empty'
  if (!strict) {
    if (name.length > 255) return 'is longer than 255 characters'
    // eslint-disable-next-line no-control-regex
    if (/[\s/\\?#%\u0000-\u001f\u007f]/.test(name)) {
      return 'contains a space, "/", "\\", "?", "#", "%" or a control character'
    }
    return undefined
  }
  if (name.length < 3 || name.length > 63) {
    return `is ${name.length} characters long; S3 bucket names have 3 to 63`
  }
  if (/[A-Z]/.test(name)) {
    return 'contains upper-case letters; S3 bucket names are lower-case (pass strictBucketName: false for a legacy or gateway bucket)'
  }
  if (/[^a-z0-9.-]/.test(name)) {
    return 'may only contain lower-case letters, digits, "." and "-" (pass strictBucketName: false for a legacy or gateway bucket)'
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return 'must begin and end with a letter or a digit'
  }
  if (name.includes('..')) return 'must not contain ".."'
  if (/^\d{1,3}(\.\d{1,3}){3}$/.test(name)) return 'must not look like an IP address'
  for (const reserved of ['xn--', 'sthree-', 'amzn-s3-demo-']) {
    if (name.startsWith(reserved)) return `must not begin with the reserved "${reserved}"`
  }
  for (const reserved of ['-s3alias', '--ol-s3', '.mrap', '--x-s3', '--table-s3']) {
    if (name.endsWith(reserved)) return `must not end with the reserved "${reserved}"`
  }
  return undefined
}

/**
 * Normalises a storage prefix: no leading or trailing "/", every segment a valid key
 * segment. Returns "" for none. Throws an `InvalidKeyError` for a prefix that could
 * escape (`..`) or that S3 tooling would mangle (`a//b`, control characters), and a
 * `ConfigurationError` for a prefix inside the area another storage reserves for itself
 * (a `.attrstore` segment: `<prefix>/.attrstore/` holds a storage's capability probes).
 */
export function normalizePrefix(prefix: string | undefined): string {
  if (prefix === undefined) return ''
  const trimmed = prefix.replace(/^\/+/, '').replace(/\/+$/, '')
  if (trimmed === '') return ''
  assertValidKey(trimmed)
  if (trimmed.split('/').includes(RESERVED_PREFIX)) {
    throw new ConfigurationError(
      `"${RESERVED_PREFIX}" is reserved: "<prefix>/${RESERVED_PREFIX}/" holds a storage's own objects, ` +
        `so a storage under a "${RESERVED_PREFIX}" segment would live inside another storage's reserved area. Choose another prefix`,
    )
  }
  return trimmed
}
