import { v4 as uuidv4 } from 'uuid'
import { InvalidKeyError } from './errors.js'

/**
 * What a storage knows when it makes a key for a new object: the port of the arguments
 * CubicWeb passes to `S3Storage.new_s3_key(entity, attr)`.
 */
export interface KeyContext {
  /** Entity (table) name, e.g. `"File"`. */
  entityName?: string
  /** Attribute (property) name, e.g. `"data"`. */
  attributeName?: string
  /** The entity being written, when there is one. */
  entity?: unknown
  /**
   * Original file name, when known: storages may keep its extension, and a write without
   * a `contentType` records the media type the extension implies.
   */
  fileName?: string
}

/** Makes the key of a new object. May be async (e.g. to ask a sequence). */
export type KeyGenerator = (context: KeyContext) => string | Promise<string>

/** S3's limit, and a sane one for file systems and key columns. */
export const MAX_KEY_BYTES = 1024

// C0 controls and DEL: NUL truncates paths and PostgreSQL text, the others break S3's XML
// listings and most tooling. Everything else (unicode, spaces, #, ?, %, +) is allowed.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTERS = /[\u0000-\u001f\u007f]/

/**
 * Checks that `key` is a relative, "/"-separated path that cannot leave the storage's
 * namespace, and returns it. Throws {@link InvalidKeyError} otherwise.
 */
export function assertValidKey(key: unknown): string {
  if (typeof key !== 'string') {
    throw new InvalidKeyError(String(key), `expected a string, got ${typeof key}`)
  }
  if (key.length === 0) throw new InvalidKeyError(key, 'the key is empty')
  if (Buffer.byteLength(key, 'utf8') > MAX_KEY_BYTES) {
    throw new InvalidKeyError(key, `longer than ${MAX_KEY_BYTES} bytes in UTF-8`)
  }
  if (CONTROL_CHARACTERS.test(key)) throw new InvalidKeyError(key, 'contains a control character')
  if (key.includes('\\')) throw new InvalidKeyError(key, 'contains a backslash')
  if (key.startsWith('/')) throw new InvalidKeyError(key, 'is absolute (starts with "/")')
  if (/^[a-zA-Z]:/.test(key)) throw new InvalidKeyError(key, 'starts with a drive letter')
  for (const segment of key.split('/')) {
    if (segment === '')
      throw new InvalidKeyError(key, 'has an empty path segment ("//" or a trailing "/")')
    if (segment === '.' || segment === '..') {
      throw new InvalidKeyError(key, `has a "${segment}" path segment`)
    }
  }
  if (!key.isWellFormed()) {
    throw new InvalidKeyError(key, 'contains a lone UTF-16 surrogate')
  }
  return key
}

/**
 * Checks a listing prefix: either empty, or a string that would be a valid key prefix
 * (it may end with "/").
 */
export function assertValidPrefix(prefix: string): string {
  if (prefix === '') return prefix
  assertValidKey(prefix.endsWith('/') ? prefix.slice(0, -1) : prefix)
  return prefix
}

/** The default key: a random UUID v4, as the original cube does. */
export const uuidKeyGenerator: KeyGenerator = () => uuidv4()

/**
 * The extension (with its dot, lower-cased) of a file name, when it has a short, safe one.
 * `"report.PDF"` → `".pdf"`, `"archive.tar.gz"` → `".gz"`, `"README"` → `""`.
 */
export function safeExtension(fileName: string | undefined): string {
  if (!fileName) return ''
  const base = fileName.split(/[\\/]/).pop() ?? ''
  const match = /\.([A-Za-z0-9]{1,16})$/.exec(base)
  if (!match || match.index === 0) return ''
  return `.${match[1]!.toLowerCase()}`
}
