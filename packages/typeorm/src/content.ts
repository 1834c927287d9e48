import type { Readable } from 'node:stream'
import type { AttributeStorage, ByteRange, ObjectStat } from '@attrstore/core'

/**
 * The handle a `load: 'lazy'` attribute holds: nothing is downloaded until asked.
 * Assigning a handle to another entity's stored attribute imports the same object
 * (nothing is copied) when both use the same storage.
 */
export class StoredContent {
  constructor(
    /** The storage key kept in the column. */
    readonly key: string,
    /** The storage the object lives in. */
    readonly storage: AttributeStorage,
  ) {}

  /** The whole content. */
  buffer(): Promise<Buffer> {
    return this.storage.read(this.key)
  }

  /** The content (or a byte range of it) as a stream. */
  stream(range?: ByteRange): Promise<Readable> {
    return this.storage.readStream(this.key, range ? { range } : {})
  }

  /** Size, SHA-256 and dates, from the storage (one request). */
  stat(): Promise<ObjectStat> {
    return this.storage.stat(this.key)
  }

  /** Size in bytes, from the storage (one request). */
  async size(): Promise<number> {
    return (await this.stat()).size
  }

  toJSON(): { key: string } {
    return { key: this.key }
  }
}

/** What attrstore knows of one stored attribute of one entity object. */
export interface AttachedState {
  /** The key in the column, as last loaded or saved. */
  key: string | null
  /** The value attrstore last put in (or saw in) the property. */
  value: unknown
  /** SHA-256 of `value` when it is bytes, to notice in-place edits of a loaded Buffer. */
  sha256?: string
}

const states = new WeakMap<object, Map<string, AttachedState>>()

export function attachedState(entity: object, propertyPath: string): AttachedState | undefined {
  return states.get(entity)?.get(propertyPath)
}

export function attachState(
  entity: object,
  propertyPath: string,
  state: AttachedState | undefined,
): void {
  let perEntity = states.get(entity)
  if (!state) {
    perEntity?.delete(propertyPath)
    return
  }
  if (!perEntity) states.set(entity, (perEntity = new Map()))
  perEntity.set(propertyPath, state)
}

/**
 * The storage key behind a loaded or saved stored attribute (the port of CubicWeb's
 * `STKEY()` / `FSPATH()`): a string, `null` when the attribute is null, `undefined` when
 * this entity object was neither loaded with the attribute nor saved.
 */
export function getStorageKey(entity: object, attribute: string): string | null | undefined {
  const state = attachedState(entity, attribute)
  if (state) return state.key
  const value = attribute
    .split('.')
    .reduce<unknown>((at, part) => (at as Record<string, unknown> | undefined)?.[part], entity)
  if (value instanceof StoredContent) return value.key
  return undefined
}
