import {
  InvalidBodyError,
  UploadClaimError,
  type AttributeStorage,
  type Body,
} from '@attrstore/core'
import { isExistingObject } from '@attrstore/core/driver'
import { StoredContent } from './content.js'
import { writeChecked } from './content-validation.js'
import type { AttachmentOptions } from './options.js'
import { refuseOtherTarget, isClaimedUpload, type ClaimTarget } from './upload-claim.js'
import { MAX_UPLOAD_TOKEN_LIFETIME_MS } from './upload-tokens.js'

// A registered symbol: a handle made by one copy of this package (an application's
// CommonJS build) is recognised by another (the ES module one) in the same process.
const STAGED_UPLOAD = Symbol.for('attrstore.stagedUpload')

/**
 * Where a staged upload is in its life:
 * - `staged`: written, not saved yet;
 * - `saving`: a save uses it, in a transaction (or operation) that has not ended;
 * - `saved`: that save committed: a row references the object;
 * - `deleted`: that save rolled back (or failed outside a transaction) and deleted it;
 * - `discarded`: deleted by {@link StagedUpload.discard}.
 */
export type StagedUploadState = 'staged' | 'saving' | 'saved' | 'deleted' | 'discarded'

/** How long a staged upload may wait for its save: the bound upload tokens have too (12 h). */
export const MAX_STAGED_UPLOAD_AGE_MS = MAX_UPLOAD_TOKEN_LIFETIME_MS

/** What a save needs of a handle: the same across copies of this package (see {@link STAGED_UPLOAD}). */
interface StagedUploadHold {
  /** Takes the handle for one save, or tells why not (a refusal to throw). */
  take(): UploadClaimError | undefined
  /** The save that took it ended: `kept`, the object stays referenced; else it was deleted. */
  ended(kept: boolean): void
}

/**
 * Content already written to a stored attribute's storage, before any transaction, by
 * `stageUpload`: assign it to that attribute and save (`file.data = staged; await
 * repository.save(file)`). The save references the object as its own upload: no copy, no
 * existence check; deleted if the save rolls back. A handle is saved once: a second save
 * is refused with `UploadClaimError` (`claim-in-progress` while the first one has not
 * ended, `claimed` once it committed, `missing` once it rolled back). Never saved, the
 * object is an orphan that `attrstore gc` deletes after its grace period (or call
 * {@link discard}).
 */
export class StagedUpload {
  readonly [STAGED_UPLOAD]: StagedUploadHold
  private current: StagedUploadState = 'staged'

  constructor(
    /** The storage key the row will hold. */
    readonly key: string,
    /** The storage the object was written to. */
    readonly storage: AttributeStorage,
    /** The attribute it was staged for (its content rules were checked). */
    readonly target: { readonly entity: string; readonly attribute: string },
    /** Size in bytes. */
    readonly size: number,
    /** Hex SHA-256 the storage recorded, hashed while the body was written. */
    readonly sha256: string | undefined,
    /** When it was written. */
    readonly stagedAt: Date = new Date(),
  ) {
    this[STAGED_UPLOAD] = {
      take: () => this.take(),
      ended: (kept) => {
        this.current = kept ? 'saved' : 'deleted'
      },
    }
  }

  get state(): StagedUploadState {
    return this.current
  }

  private take(): UploadClaimError | undefined {
    const refusal = (reason: 'claim-in-progress' | 'claimed' | 'missing', message: string) =>
      new UploadClaimError(reason, `the staged upload ${message}`, this.key)
    switch (this.current) {
      case 'saving':
        return refusal('claim-in-progress', 'is used by a save that has not ended')
      case 'saved':
        return refusal('claimed', 'was saved already (stage the content again for another row)')
      case 'deleted':
        return refusal('missing', 'was deleted when the save that used it failed: stage it again')
      case 'discarded':
        return refusal('missing', 'was discarded')
    }
    if (Date.now() - this.stagedAt.getTime() > MAX_STAGED_UPLOAD_AGE_MS) {
      // Past the bound, the garbage collector may have taken it: the save does not check.
      return new UploadClaimError(
        'expired',
        `the staged upload is older than ${MAX_STAGED_UPLOAD_AGE_MS / 3_600_000} h`,
        this.key,
      )
    }
    this.current = 'saving'
    return undefined
  }

  /**
   * Deletes the object now, if no save used it: for content the application staged and
   * then decided not to save. Returns whether it did.
   */
  async discard(): Promise<boolean> {
    if (this.current !== 'staged') return false
    this.current = 'discarded'
    await this.storage.delete(this.key)
    return true
  }

  toJSON(): { key: string; staged: true } {
    return { key: this.key, staged: true }
  }
}

export function isStagedUpload(value: unknown): value is StagedUpload {
  return typeof value === 'object' && value !== null && STAGED_UPLOAD in value
}

/** The attribute content is staged for, as `stageUpload` sees it. */
export interface StagingTarget<Entity extends object> {
  readonly entityName: string
  readonly access: { readonly propertyPath: string }
  readonly options: AttachmentOptions<Entity>
}

/** What `stageUpload` is told of the content. */
export interface StageOptions {
  /** Its media type (checked against its bytes where the attribute has content rules). Default: the attribute's, if a constant, else sniffed or from the file name. */
  contentType?: string | undefined
  /** Its file name: storages that keep extensions use it for the key. */
  fileName?: string | undefined
  /** Aborting stops the write and removes what was partly stored. */
  signal?: AbortSignal | undefined
}

/**
 * Writes `body` to `storage` for `attribute` under its content rules (`maxSize`, `accept`,
 * `sniff`: a refused body throws `ValidationError` and nothing is kept), outside any
 * transaction, and returns the handle to save into that attribute.
 */
export async function stageContent<Entity extends object>(
  attribute: StagingTarget<Entity>,
  storage: AttributeStorage,
  body: Body,
  options: StageOptions = {},
): Promise<StagedUpload> {
  const name = `${attribute.entityName}.${attribute.access.propertyPath}`
  if (
    isExistingObject(body) ||
    isClaimedUpload(body) ||
    isStagedUpload(body) ||
    body instanceof StoredContent
  ) {
    throw new InvalidBodyError(
      `${name}: stageUpload takes new content (bytes, a string, a stream, a Blob); ` +
        'an object already stored is saved into the attribute as it is',
    )
  }
  const declared = attribute.options.contentType
  const contentType = options.contentType ?? (typeof declared === 'string' ? declared : undefined)
  const result = await writeChecked(attribute, storage, body, {
    context: {
      entityName: attribute.entityName,
      attributeName: attribute.access.propertyPath,
      ...(options.fileName === undefined ? {} : { fileName: options.fileName }),
    },
    contentType,
    signal: options.signal,
  })
  return new StagedUpload(
    result.key,
    storage,
    { entity: attribute.entityName, attribute: attribute.access.propertyPath },
    result.size,
    result.sha256,
  )
}

/**
 * Takes `staged` for a save into `target`: refused (`UploadClaimError`) when it was staged
 * for another attribute or storage, is used by another save, was saved or deleted, or is
 * too old. Returns what the unit of work calls when that save's work ends.
 */
export function takeStagedUpload(
  staged: StagedUpload,
  target: ClaimTarget,
  storage: AttributeStorage,
): (kept: boolean) => void {
  refuseOtherTarget(
    { key: staged.key, location: staged.storage.location, target: staged.target },
    target,
    storage,
    { upload: 'staged upload', made: 'staged upload' },
  )
  const hold = staged[STAGED_UPLOAD]
  const refusal = hold.take()
  if (refusal) throw refusal
  return (kept) => hold.ended(kept)
}
