import {
  checkStoredObject,
  ConfigurationError,
  ObjectNotFoundError,
  UploadClaimError,
  ValidationError,
  type AttributeStorage,
  type ContentRules,
} from '@attrstore/core'
import { hashStream } from '@attrstore/core/driver'
import { objectIdentity } from './object-locks.js'
import type { AttacherHost } from './ports.js'
import type { UnitOfWork } from './unit-of-work.js'

const CLAIMED_UPLOAD = Symbol.for('attrstore.claimedUpload')

/**
 * What a stored attribute is given to take a direct upload: saving it checks the token
 * and references the uploaded object (nothing is copied). Make one with {@link claimUpload}.
 */
export interface ClaimedUpload {
  readonly [CLAIMED_UPLOAD]: true
  /** The token the client handed back. */
  readonly token: string
}

/**
 * The value to put in a stored attribute to claim the direct upload `token` was issued
 * with: `file.data = claimUpload(token); await repository.save(file)`. The checks run when
 * the entity is saved, in its transaction: the token's signature, expiry and target, that
 * the object exists, its size and its media type (from its first bytes). A token is claimed
 * once. A refusal throws `UploadClaimError` (its `reason` says which check failed).
 */
export function claimUpload(token: string): ClaimedUpload {
  return Object.freeze({ [CLAIMED_UPLOAD]: true as const, token })
}

export function isClaimedUpload(value: unknown): value is ClaimedUpload {
  return typeof value === 'object' && value !== null && CLAIMED_UPLOAD in value
}

/** The attribute being written, as a claim sees it. */
export interface ClaimTarget {
  entityName: string
  propertyPath: string
  /** The attribute's own content rules. */
  rules: ContentRules
}

/** A claim that passed: the object the row now references. */
export interface ClaimedObject {
  key: string
  size: number
  /** SHA-256 of the object, hashed once while claiming (a checksum a client sent is not trusted). */
  sha256: string
}

/**
 * Claims the upload of `claimed.token` for `target` in `unit`'s work: the token names the
 * one object it can claim. Under the object's claim lock (exclusive, held until the work
 * ends; a claim in progress elsewhere is refused, not waited for), no row may reference the
 * object yet; it must exist and pass the token's and the attribute's rules. Then it is
 * recorded like an import: checked to still exist before the commit, never deleted on
 * rollback (the client's upload stays for the garbage collector).
 */
export async function claimUploadedObject<Connection>(args: {
  claimed: ClaimedUpload
  target: ClaimTarget
  storage: AttributeStorage
  host: AttacherHost<Connection>
  unit: UnitOfWork<Connection>
  depth: number
  connection: Connection
}): Promise<ClaimedObject> {
  const { claimed, target, storage, host, unit, depth, connection } = args
  const tokens = host.uploadTokens
  if (!tokens) {
    throw new ConfigurationError(
      `${target.entityName}.${target.propertyPath}: a claimed upload was saved, but no UploadTokens ` +
        'are configured to check its token (setUploadTokens(dataSource, tokens))',
    )
  }
  const grant = tokens.read(claimed.token)
  refuseOtherTarget(grant, target, storage)
  const { key } = grant
  if (!unit.beginClaim(objectIdentity(storage, key)))
    throw new UploadClaimError('claim-in-progress', 'this work already claims it', key)
  const lock = await host.objectLocks.forClaim(storage, key, connection, depth > 0)
  if (!lock.acquired) {
    throw new UploadClaimError(
      'claim-in-progress',
      'another claim of the same upload has not ended yet (the client may retry once it has failed)',
      key,
    )
  }
  if (lock.release) unit.holdImportLock(lock.release)
  if (await host.isReferenced(storage, key, connection))
    throw new UploadClaimError('claimed', 'a row already references the uploaded object', key)
  const subject = { entity: target.entityName, attribute: target.propertyPath }
  const size = Math.min(grant.maxSize, target.rules.maxSize ?? Infinity)
  try {
    await checkStoredObject(storage, key, { ...target.rules, maxSize: size }, subject)
    if (grant.accept) await checkStoredObject(storage, key, { accept: grant.accept }, subject)
  } catch (error) {
    throw refusal(error, key)
  }
  let hashed: { sha256: string; size: number }
  try {
    hashed = await hashStream(await storage.readStream(key))
  } catch (error) {
    throw refusal(error, key)
  }
  if (hashed.size > size)
    throw new UploadClaimError('too-large', `it has ${hashed.size} bytes, over ${size}`, key)
  unit.imported(storage, key, depth)
  return { key, size: hashed.size, sha256: hashed.sha256 }
}

/**
 * Refuses (`UploadClaimError`, `other-target`) an upload made for another storage or
 * attribute than `target`'s: a claim token's grant, or a staged upload. `names`: what the
 * messages call the upload and what was made for one attribute.
 */
export function refuseOtherTarget(
  made: {
    key: string
    location: string
    target?: { entity: string; attribute: string } | undefined
  },
  target: ClaimTarget,
  storage: AttributeStorage,
  names: { upload: string; made: string } = { upload: 'upload', made: 'token' },
): void {
  const { entityName, propertyPath } = target
  if (made.location !== storage.location) {
    throw new UploadClaimError(
      'other-target',
      `the ${names.upload} went to the storage at ${made.location}, not ${entityName}.${propertyPath}'s`,
      made.key,
    )
  }
  if (
    made.target &&
    (made.target.entity !== entityName || made.target.attribute !== propertyPath)
  ) {
    throw new UploadClaimError(
      'other-target',
      `the ${names.made} was made for ${made.target.entity}.${made.target.attribute}, not ${entityName}.${propertyPath}`,
      made.key,
    )
  }
}

/** A check's failure as the claim's refusal; other errors (the storage unreachable) pass through. */
function refusal(error: unknown, key: string): unknown {
  if (error instanceof ObjectNotFoundError)
    return new UploadClaimError('missing', 'nothing was uploaded under its key', key, {
      cause: error,
    })
  if (error instanceof ValidationError) {
    const reason = error.rule === 'maxSize' ? 'too-large' : 'media-type'
    return new UploadClaimError(reason, error.message, key, { cause: error })
  }
  return error
}
