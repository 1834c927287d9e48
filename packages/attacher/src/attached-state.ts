import type { AttributeStorage } from '@attrstore/core'
import { sha256Hex } from '@attrstore/core/driver'
import { StoredContent } from './content.js'
import type { AttachmentOptions } from './options.js'

/** What attrstore knows of one stored attribute of one entity object. */
export interface AttachedState {
  /** The key in the column, as last loaded or saved. */
  key: string | null
  /** The value attrstore last put in (or saw in) the property. */
  value: unknown
  /** SHA-256 of `value` when it is bytes, to notice in-place edits of a loaded Buffer. */
  sha256?: string
  /** The storage `key` lives in (absent for a null attribute): to serve it, see `attachedAttribute`. */
  storage?: AttributeStorage
  /** The attribute's options: its `contentType` and `fileName` tell how to serve it. */
  options?: AttachmentOptions<never>
}

/**
 * Each entity object's states, by property path, kept on the object itself under a
 * non-enumerable symbol: invisible to JSON, spreads, `Object.keys` and deep equality, and
 * collected with the entity. Not a `WeakMap`: an entry per loaded row made a lazy `find`
 * of 1,000 rows cost about 1 µs more per row (ephemeron tables, rehashed as they grow and
 * walked by every garbage collection).
 */
const STATES = Symbol('attrstore.attachedStates')

type StateHolder = { [STATES]?: Record<string, AttachedState> }

/** The state of `entity`'s attribute at `propertyPath`, if attrstore loaded or saved it. */
export function attachedState(entity: object, propertyPath: string): AttachedState | undefined {
  return (entity as StateHolder)[STATES]?.[propertyPath]
}

/** Records (or, with `undefined`, forgets) the state of `entity`'s attribute at `propertyPath`. */
export function attachState(
  entity: object,
  propertyPath: string,
  state: AttachedState | undefined,
): void {
  const holder = entity as StateHolder
  let perEntity = holder[STATES]
  if (!state) {
    if (perEntity) delete perEntity[propertyPath]
    return
  }
  if (!perEntity) {
    perEntity = Object.create(null) as Record<string, AttachedState>
    // Frozen entities cannot hold it: they get no state (as if never loaded by attrstore).
    if (!Object.isExtensible(entity)) return
    Object.defineProperty(entity, STATES, { value: perEntity, writable: true, configurable: true })
  }
  perEntity[propertyPath] = state
}

/** Bytes as a property may hold them. */
export function isBytes(value: unknown): value is Uint8Array | string {
  return typeof value === 'string' || value instanceof Uint8Array
}

/**
 * The value attrstore last put in the property is still there, unmodified: the same
 * object and, for bytes, the same SHA-256 (a loaded Buffer may have been edited in place).
 */
export function isUnchanged(value: unknown, state: AttachedState | undefined): boolean {
  if (!state || value !== state.value) return false
  if (state.sha256 !== undefined && isBytes(value)) return sha256Hex(value) === state.sha256
  return true
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
