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
 * Base of {@link StateSlot}: its constructor returns the object it is given, so that
 * `new StateSlot(entity, ...)` adds the private fields to `entity` itself.
 */
class ReturnsGiven {
  constructor(given: object) {
    return given
  }
}

/**
 * Each entity object's states, kept on the object itself in private class fields stamped
 * on it (the base constructor returns the entity): invisible to JSON, spreads,
 * `Object.keys`, `Reflect.ownKeys` and deep equality, and collected with the entity. The
 * first attribute recorded (most entities have one stored attribute) takes two fields,
 * any other goes in a map. Not a `WeakMap`: an entry per loaded row made a lazy `find` of
 * 1,000 rows cost about 1 µs more per row (ephemeron tables, rehashed as they grow and
 * walked by every garbage collection); not a non-enumerable symbol property either:
 * `Object.defineProperty` once per row cost about 0.12 µs of a lazy row's 0.17 µs, where
 * stamping private fields costs what adding plain properties does.
 */
class StateSlot extends ReturnsGiven {
  #path: string
  /** `undefined` once forgotten (a private field cannot be removed from its object). */
  #state: AttachedState | undefined
  #others: Map<string, AttachedState> | undefined

  private constructor(entity: object, path: string, state: AttachedState) {
    super(entity)
    this.#path = path
    this.#state = state
    this.#others = undefined
  }

  static get(entity: object, path: string): AttachedState | undefined {
    if (!(#path in entity)) return undefined
    const slot = entity as StateSlot
    return slot.#path === path ? slot.#state : slot.#others?.get(path)
  }

  /** Frozen entities cannot hold a state and get none (as if never loaded by attrstore). */
  static set(entity: object, path: string, state: AttachedState | undefined): void {
    if (!(#path in entity)) {
      if (state && Object.isExtensible(entity)) new StateSlot(entity, path, state)
      return
    }
    const slot = entity as StateSlot
    if (slot.#path === path) slot.#state = state
    else if (state) (slot.#others ??= new Map()).set(path, state)
    else slot.#others?.delete(path)
  }
}

/** The state of `entity`'s attribute at `propertyPath`, if attrstore loaded or saved it. */
export function attachedState(entity: object, propertyPath: string): AttachedState | undefined {
  return StateSlot.get(entity, propertyPath)
}

/** Records (or, with `undefined`, forgets) the state of `entity`'s attribute at `propertyPath`. */
export function attachState(
  entity: object,
  propertyPath: string,
  state: AttachedState | undefined,
): void {
  StateSlot.set(entity, propertyPath, state)
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
