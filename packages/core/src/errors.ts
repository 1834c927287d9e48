/**
 * Typed errors shared by every attrstore package.
 *
 * Every error carries a stable `code` so callers can branch with `instanceof` or on
 * `error.code` (the latter survives duplicated package copies and serialisation).
 */

/** Stable codes of the errors attrstore throws. */
export type AttrstoreErrorCode =
  | 'ATTRSTORE_NOT_FOUND'
  | 'ATTRSTORE_INVALID_KEY'
  | 'ATTRSTORE_KEY_CONFLICT'
  | 'ATTRSTORE_UNAVAILABLE'
  | 'ATTRSTORE_INTEGRITY'
  | 'ATTRSTORE_RANGE'
  | 'ATTRSTORE_INVALID_BODY'
  | 'ATTRSTORE_CONFIGURATION'
  | 'ATTRSTORE_VALIDATION'
  | 'ATTRSTORE_UPLOAD_CLAIM'

/** Base class of every error attrstore throws on purpose. */
export class AttrstoreError extends Error {
  readonly code: AttrstoreErrorCode

  constructor(code: AttrstoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }
}

/** The object behind a key does not exist (reading, stating or importing it). */
export class ObjectNotFoundError extends AttrstoreError {
  readonly key: string

  constructor(key: string, message?: string, options?: { cause?: unknown }) {
    super(
      'ATTRSTORE_NOT_FOUND',
      message ?? `No stored object under key ${JSON.stringify(key)}`,
      options,
    )
    this.key = key
  }
}

/** A key is malformed or tries to leave the storage's namespace. Nothing was stored. */
export class InvalidKeyError extends AttrstoreError {
  readonly key: string

  constructor(key: string, reason: string) {
    super(
      'ATTRSTORE_INVALID_KEY',
      `Invalid storage key ${JSON.stringify(key)}: ${reason}. ` +
        'Keys are relative, "/"-separated paths without "." or ".." segments, control characters or a leading "/".',
    )
    this.key = key
  }
}

/**
 * A new object was about to be written under a key that is already used. attrstore never
 * overwrites: the write is refused and the existing object is left untouched.
 */
export class KeyConflictError extends AttrstoreError {
  readonly key: string

  constructor(key: string) {
    super(
      'ATTRSTORE_KEY_CONFLICT',
      `Refusing to overwrite the existing object under key ${JSON.stringify(key)}: ` +
        'the key generator returned a key that is already used. Make keys unique (the default is a random UUID).',
    )
    this.key = key
  }
}

/** The storage backend could not be reached or failed in a way retries did not cure. */
export class StorageUnavailableError extends AttrstoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ATTRSTORE_UNAVAILABLE', message, options)
  }
}

/** Stored bytes do not match their recorded size or SHA-256. */
export class IntegrityError extends AttrstoreError {
  readonly key: string
  readonly expected: string
  readonly actual: string

  constructor(key: string, expected: string, actual: string, what = 'SHA-256') {
    super(
      'ATTRSTORE_INTEGRITY',
      `Integrity check failed for ${JSON.stringify(key)}: expected ${what} ${expected}, got ${actual}`,
    )
    this.key = key
    this.expected = expected
    this.actual = actual
  }
}

/** A byte range is empty, inverted, starts past the end of the object, or was asked with `verify`. */
export class RangeNotSatisfiableError extends AttrstoreError {
  readonly key: string

  constructor(key: string, message: string) {
    super('ATTRSTORE_RANGE', `Invalid byte range for ${JSON.stringify(key)}: ${message}`)
    this.key = key
  }
}

/** A value given as a body is none of the accepted body types. */
export class InvalidBodyError extends AttrstoreError {
  constructor(message: string) {
    super('ATTRSTORE_INVALID_BODY', message)
  }
}

/** A storage was configured wrongly (bad URL, bucket name, root, option...). */
export class ConfigurationError extends AttrstoreError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ATTRSTORE_CONFIGURATION', message, options)
  }
}

/**
 * The rule of an attribute's content that a body broke (see `ContentRules`):
 * - `maxSize`: more bytes than the limit;
 * - `accept`: a media type the attribute does not accept;
 * - `empty`: no bytes at all, for an attribute that accepts only some media types;
 * - `mismatch`: bytes of another type than the declared `contentType`.
 */
export type ValidationRule = 'maxSize' | 'accept' | 'empty' | 'mismatch'

/**
 * A body broke a rule of its attribute's content (`maxSize`, `accept`, sniffed type). It
 * was refused before its row was written: nothing of it is kept in the storage.
 */
export class ValidationError extends AttrstoreError {
  /** The entity the content was for, e.g. `File`. */
  readonly entity: string
  /** The attribute, e.g. `data` or `attachment.content`. */
  readonly attribute: string
  readonly rule: ValidationRule
  /**
   * What the rule allows: the byte limit (`maxSize`), the accepted media types (`accept`,
   * `empty`), the declared media type (`mismatch`).
   */
  readonly expected: number | string | readonly string[]
  /**
   * What the body had: its size, or for a stream the bytes read when it was stopped (a
   * lower bound: the rest was never read) (`maxSize`); the media type it was taken for
   * (`accept`, `mismatch`), `undefined` when none could be told; 0 (`empty`).
   */
  readonly actual: number | string | undefined

  constructor(
    details: {
      entity: string
      attribute: string
      rule: ValidationRule
      expected: number | string | readonly string[]
      actual: number | string | undefined
    },
    message: string,
  ) {
    super('ATTRSTORE_VALIDATION', `${details.entity}.${details.attribute}: ${message}`)
    this.entity = details.entity
    this.attribute = details.attribute
    this.rule = details.rule
    this.expected = details.expected
    this.actual = details.actual
  }
}

/**
 * Why a claimed direct upload was refused:
 * - `malformed`: not an upload token; `tampered`: its signature does not match (forged,
 *   edited, or signed with a secret no longer configured); `expired`: past its expiry;
 * - `other-target`: made for another entity, attribute or storage;
 * - `claimed`: a row already references the object; `claim-in-progress`: another claim of
 *   it has not ended yet (in another transaction, or earlier in this one);
 * - `missing`: nothing was uploaded (or it is gone); `too-large`: over the size limit;
 *   `media-type`: its content is not of an accepted media type.
 */
export type UploadClaimRefusal =
  | 'malformed'
  | 'tampered'
  | 'expired'
  | 'other-target'
  | 'claimed'
  | 'claim-in-progress'
  | 'missing'
  | 'too-large'
  | 'media-type'

/**
 * A direct upload could not be claimed, or a staged upload (`stageUpload`) could not be
 * saved: nothing was referenced, and the uploaded object (if any) is left to the garbage
 * collector (or to the save that holds it).
 */
export class UploadClaimError extends AttrstoreError {
  readonly reason: UploadClaimRefusal
  /** The key the token names, once it was read from a genuine token. */
  readonly key: string | undefined

  constructor(
    reason: UploadClaimRefusal,
    message: string,
    key?: string,
    options?: { cause?: unknown },
  ) {
    super('ATTRSTORE_UPLOAD_CLAIM', `Upload claim refused (${reason}): ${message}`, options)
    this.reason = reason
    this.key = key
  }
}

/** True when `error` is an attrstore error with the given code (works across package copies). */
export function isAttrstoreError(
  error: unknown,
  code?: AttrstoreErrorCode,
): error is AttrstoreError {
  if (typeof error !== 'object' || error === null) return false
  const actual = (error as { code?: unknown }).code
  if (typeof actual !== 'string' || !actual.startsWith('ATTRSTORE_')) return false
  return code === undefined || actual === code
}
