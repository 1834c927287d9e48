/**
 * Where an entity object's attached states live: on the object, invisible to everything
 * that copies, compares or serialises it, one per attribute.
 */
import { describe, expect, it } from 'vitest'
import { attachedState, attachState, type AttachedState } from '../src/attached-state.js'

class Entity {
  id = 1
  data: unknown = 'key-1'
  thumbnail: unknown = 'key-2'
}

const state = (key: string): AttachedState => ({ key, value: key })

describe('attached states', () => {
  it('are invisible to JSON, keys, own keys, spreads and deep equality', () => {
    const entity = new Entity()
    attachState(entity, 'data', state('key-1'))
    expect(attachedState(entity, 'data')).toEqual(state('key-1'))
    expect(JSON.stringify(entity)).toBe('{"id":1,"data":"key-1","thumbnail":"key-2"}')
    expect(Reflect.ownKeys(entity)).toEqual(['id', 'data', 'thumbnail'])
    expect({ ...entity }).toEqual({ id: 1, data: 'key-1', thumbnail: 'key-2' })
    expect(entity).toStrictEqual(new Entity())
    expect(structuredClone(entity)).toEqual({ id: 1, data: 'key-1', thumbnail: 'key-2' })
  })

  it('keep one state per attribute, replaced and forgotten one by one', () => {
    const entity = new Entity()
    attachState(entity, 'data', state('a'))
    attachState(entity, 'thumbnail', state('b'))
    attachState(entity, 'embedded.data', state('c'))
    expect(attachedState(entity, 'data')?.key).toBe('a')
    expect(attachedState(entity, 'thumbnail')?.key).toBe('b')
    expect(attachedState(entity, 'embedded.data')?.key).toBe('c')
    expect(attachedState(entity, 'other')).toBeUndefined()
    attachState(entity, 'thumbnail', state('b2'))
    expect(attachedState(entity, 'thumbnail')?.key).toBe('b2')
    attachState(entity, 'data', undefined)
    attachState(entity, 'embedded.data', undefined)
    expect(attachedState(entity, 'data')).toBeUndefined()
    expect(attachedState(entity, 'embedded.data')).toBeUndefined()
    expect(attachedState(entity, 'thumbnail')?.key).toBe('b2')
    attachState(entity, 'data', state('a2'))
    expect(attachedState(entity, 'data')?.key).toBe('a2')
  })

  it('are separate for each object, and absent on an object never attached', () => {
    const first = new Entity()
    const second = new Entity()
    attachState(first, 'data', state('a'))
    expect(attachedState(second, 'data')).toBeUndefined()
    expect(attachedState({}, 'data')).toBeUndefined()
    attachState(second, 'data', state('b'))
    expect(attachedState(first, 'data')?.key).toBe('a')
    expect(attachedState(second, 'data')?.key).toBe('b')
  })

  it('are not kept on a frozen entity (as if never loaded), which stays unchanged', () => {
    const entity = Object.freeze(new Entity())
    attachState(entity, 'data', state('a'))
    expect(attachedState(entity, 'data')).toBeUndefined()
    expect(Object.isFrozen(entity)).toBe(true)
  })
})
