import { Readable } from 'node:stream'
import {
  existingObject,
  ObjectNotFoundError,
  type AttributeStorage,
  type Body,
} from '@attrstore/core'
import {
  collectStream,
  hashStream,
  isExistingObject,
  Limiter,
  sha256Hex,
} from '@attrstore/core/driver'
import {
  attachedState,
  attachState,
  isBytes,
  isUnchanged,
  type AttachedState,
} from './attached-state.js'
import { StoredContent } from './content.js'
import { writeChecked } from './content-validation.js'
import type { AttachmentOptions } from './options.js'
import type { AttacherHost } from './ports.js'
import type { Upload, UnitOfWork } from './unit-of-work.js'
import { isStagedUpload, takeStagedUpload } from './staged-upload.js'
import { claimUploadedObject, isClaimedUpload, type ClaimTarget } from './upload-claim.js'

/** Reads and writes one property of entity objects (TypeORM's `ColumnMetadata` is one). */
export interface AttributeAccess<Entity extends object> {
  /** The property's path: `'data'`, or `'embedded.data'` for an embedded entity's. */
  readonly propertyPath: string
  getEntityValue(entity: Entity): unknown
  setEntityValue(entity: Entity, value: unknown): void
}

/** One stored attribute of one entity type, as the adapter describes it. */
export interface AttachedAttribute<Entity extends object> {
  /** The entity's name, in messages and in the storages' key contexts. */
  readonly entityName: string
  readonly access: AttributeAccess<Entity>
  readonly options: AttachmentOptions<Entity>
  /** The storage registered for the attribute (throws when none is). */
  storage(): AttributeStorage
}

/** One stored attribute of an entity about to be inserted or updated. */
export interface AttributeWrite<Entity extends object, Connection> {
  entity: Entity
  attribute: AttachedAttribute<Entity>
  unit: UnitOfWork<Connection>
  /** The transaction depth the statement runs at (0 outside a transaction). */
  depth: number
  /** What the affected rows' columns hold now: keys superseded if the statement commits. */
  previous: unknown[]
  /** The row as the ORM loaded it before an update, when it did. */
  databaseEntity: Entity | undefined
  /** Whether the statement's success proves a row holds what it writes (false for an update that matched no row). */
  touchesRows: boolean
  /** The connection the statement runs on. */
  connection: Connection
}

/**
 * The ORM-neutral decisions about one stored attribute: what a loaded property holds
 * (bytes, a handle or the key), what a save uploads, imports or leaves alone, and what it
 * records with the unit of work.
 */
export class Attacher<Connection> {
  private readonly limiters = new WeakMap<AttributeStorage, Limiter>()

  constructor(private readonly host: AttacherHost<Connection>) {}

  /**
   * Fills the property of a loaded `entity` from the key the ORM put in it. Synchronous
   * unless a download is needed: a lazy load of many rows then costs no promise per row.
   */
  load<Entity extends object>(
    entity: Entity,
    attribute: AttachedAttribute<Entity>,
  ): Promise<void> | undefined {
    const { access, options } = attribute
    const key = access.getEntityValue(entity)
    if (key === undefined || (key !== null && typeof key !== 'string')) return // not selected, or already filled
    const path = access.propertyPath
    if (key === null) {
      attachState(entity, path, { key: null, value: null })
      return
    }
    const storage = attribute.storage()
    const mode = options.load ?? 'eager'
    if (mode === 'none') {
      attachState(entity, path, { key, value: key, storage, options })
      return
    }
    if (mode === 'lazy') {
      const handle = new StoredContent(key, storage)
      access.setEntityValue(entity, handle)
      attachState(entity, path, { key, value: handle, storage, options })
      return
    }
    return this.download(entity, attribute, storage, key)
  }

  private async download<Entity extends object>(
    entity: Entity,
    { entityName, access, options }: AttachedAttribute<Entity>,
    storage: AttributeStorage,
    key: string,
  ): Promise<void> {
    const path = access.propertyPath
    const { bytes, sha256 } = await this.limiterOf(storage, options).run(async () => {
      try {
        return await readHashed(storage, key)
      } catch (error) {
        if (!(error instanceof ObjectNotFoundError)) throw error
        throw new ObjectNotFoundError(
          key,
          `${entityName}.${path}: the object ${JSON.stringify(key)} this row references is missing from its storage`,
          { cause: error },
        )
      }
    })
    access.setEntityValue(entity, bytes)
    // The hash lets a later save notice in-place edits of this Buffer.
    attachState(entity, path, { key, value: bytes, sha256, storage, options })
  }

  private limiterOf<Entity extends object>(
    storage: AttributeStorage,
    options: AttachmentOptions<Entity>,
  ): Limiter {
    let limiter = this.limiters.get(storage)
    if (!limiter) this.limiters.set(storage, (limiter = new Limiter(options.loadConcurrency ?? 8)))
    return limiter
  }

  /**
   * Before an insert or update: uploads (or imports) the property's new content, puts its
   * key in the property for the ORM to write, and records with the unit of work what to
   * delete or put back depending on the statement's and the transaction's outcome.
   */
  async write<Entity extends object>(write: AttributeWrite<Entity, Connection>): Promise<void> {
    const { entity, attribute, unit, depth, databaseEntity } = write
    const { access } = attribute
    const value = access.getEntityValue(entity)
    if (value === undefined) return
    const path = access.propertyPath
    const state = attachedState(entity, path)
    const previousKeys = [
      ...new Set(write.previous.filter((key): key is string => typeof key === 'string')),
    ]
    const storage = attribute.storage()
    if (
      databaseEntity &&
      keptUnchanged(entity, databaseEntity, access, value, state, storage, attribute.options)
    )
      return

    let key: string | null = null
    let display: unknown = value
    let sha256: string | undefined
    let upload: Upload | undefined
    const target = (): ClaimTarget => ({
      entityName: attribute.entityName,
      propertyPath: path,
      rules: {
        maxSize: attribute.options.maxSize,
        accept: attribute.options.accept,
        sniff: attribute.options.sniff,
      },
    })
    if (isStagedUpload(value)) {
      // Written by this process before the transaction: this work's own upload, like a
      // body written now (no existence check; deleted on rollback).
      const ended = takeStagedUpload(value, target(), storage)
      key = value.key
      upload = unit.uploaded(storage, key, depth, ended)
      display = new StoredContent(key, storage, value.sha256)
    } else if (isClaimedUpload(value)) {
      const claimed = await claimUploadedObject({
        claimed: value,
        target: target(),
        storage,
        host: this.host,
        unit,
        depth,
        connection: write.connection,
      })
      key = claimed.key
      display = new StoredContent(key, storage, claimed.sha256)
    } else if (value !== null) {
      const imported = value instanceof StoredContent && value.storage === storage
      if (imported || isExistingObject(value)) {
        // Before the storage checks that the object exists: see object-locks.ts.
        const release = await this.host.objectLocks.forImport(
          storage,
          value.key,
          write.connection,
          depth > 0,
        )
        if (release) unit.holdImportLock(release)
      }
      const body: Body = imported
        ? existingObject(value.key)
        : value instanceof StoredContent
          ? await value.stream()
          : (value as Body)
      const result = await writeChecked(attribute, storage, body, {
        context: {
          entityName: attribute.entityName,
          attributeName: path,
          entity,
          ...optional('fileName', attribute.options.fileName?.(entity) ?? undefined),
        },
        contentType: resolveContentType(attribute.options, entity),
      })
      key = result.key
      if (result.imported) {
        unit.imported(storage, key, depth)
        // Where the object locks do not cover this, also keep the rows that hold the key
        // from being deleted by another transaction until this one commits.
        if (depth > 0) await this.host.lockReferences(storage, key, write.connection)
      } else {
        upload = unit.uploaded(storage, key, depth)
      }
      if (isStream(value) || isExistingObject(value) || value instanceof StoredContent) {
        display = imported ? value : new StoredContent(key, storage)
      } else if (isBytes(value)) {
        sha256 = result.sha256
      }
    }
    for (const old of previousKeys) if (old !== key) unit.deleteAfterCommit(storage, old, depth)

    access.setEntityValue(entity, key)
    unit.propertyWritten(entity, {
      depth,
      ...(upload ? { upload } : {}),
      confirms: write.touchesRows,
      succeeded: () => {
        access.setEntityValue(entity, display)
        attachState(entity, path, {
          key,
          value: display,
          ...(sha256 ? { sha256 } : {}),
          ...(key === null ? {} : { storage, options: attribute.options }),
        })
      },
      failed: () => {
        access.setEntityValue(entity, value)
        attachState(entity, path, state)
      },
    })
  }
}

/**
 * An update whose property still holds what the row references (unchanged since loaded or
 * saved, the key itself, or a handle or `existingObject` of the same object): makes the
 * ORM see no change and uploads nothing. Returns whether it was.
 */
function keptUnchanged<Entity extends object>(
  entity: Entity,
  databaseEntity: Entity,
  access: AttributeAccess<Entity>,
  value: unknown,
  state: AttachedState | undefined,
  storage: AttributeStorage,
  options: AttachmentOptions<Entity>,
): boolean {
  const current = access.getEntityValue(databaseEntity)
  const sameObject =
    typeof current === 'string' &&
    ((value instanceof StoredContent && value.storage === storage && value.key === current) ||
      (isExistingObject(value) && value.key === current))
  if (!((isUnchanged(value, state) && state?.key === current) || value === current || sameObject))
    return false
  const shown =
    sameObject && !(value instanceof StoredContent) ? new StoredContent(current, storage) : value
  access.setEntityValue(entity, shown)
  access.setEntityValue(databaseEntity, shown)
  if (shown !== value)
    attachState(entity, access.propertyPath, {
      key: current as string,
      value: shown,
      storage,
      options,
    })
  return true
}

function isStream(value: unknown): boolean {
  return (
    value instanceof Readable ||
    (typeof value === 'object' && value !== null && Symbol.asyncIterator in value)
  )
}

/**
 * Downloads an object with its SHA-256: the one the storage recorded when it tells it in
 * the same response (S3) or call (`readWhole`: the filesystem, no stream), else computed
 * from the bytes.
 */
async function readHashed(
  storage: AttributeStorage,
  key: string,
): Promise<{ bytes: Buffer; sha256: string }> {
  if (storage.readWhole) {
    const { bytes, sha256 } = await storage.readWhole(key)
    return { bytes, sha256: sha256 ?? sha256Hex(bytes) }
  }
  const { stream, sha256: recorded } = await storage.open(key)
  if (recorded !== undefined) return { bytes: await collectStream(stream), sha256: recorded }
  const { bytes, sha256 } = await hashStream(stream, { keep: true })
  return { bytes: bytes ?? Buffer.alloc(0), sha256 }
}

function resolveContentType<Entity extends object>(
  options: AttachmentOptions<Entity>,
  entity: Entity,
): string | undefined {
  const { contentType } = options
  const resolved = typeof contentType === 'function' ? contentType(entity) : contentType
  return resolved ?? undefined
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V }
}
