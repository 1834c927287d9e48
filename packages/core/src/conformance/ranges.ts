import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import type { AttributeStorage } from '../contract.js'
import { ObjectNotFoundError, RangeNotSatisfiableError } from '../errors.js'
import type { SuiteContext } from './context.js'

/** Byte ranges: their edges, and their errors. */
export function describeByteRanges({ make, scoped, run }: SuiteContext): void {
  describe('byte ranges', () => {
    const content = randomBytes(1000)
    let storage: AttributeStorage
    let key: string
    const setup = async (): Promise<void> => {
      if (key) return
      storage = await make(scoped('range'))
      key = (await storage.write(content)).key
    }
    const cases: Array<[string, { start: number; end?: number }, Buffer]> = [
      ['the first byte', { start: 0, end: 0 }, content.subarray(0, 1)],
      ['the last byte', { start: 999, end: 999 }, content.subarray(999)],
      ['the middle', { start: 100, end: 199 }, content.subarray(100, 200)],
      ['an open end', { start: 990 }, content.subarray(990)],
      ['an end past the end (clamped)', { start: 995, end: 5000 }, content.subarray(995)],
    ]
    for (const [label, range, expected] of cases) {
      it(label, async () => {
        await setup()
        const got = await storage.read(key, { range })
        expect(got.equals(expected)).toBe(true)
      })
    }
    it('a start past the end is a clear error', async () => {
      await setup()
      await expect(storage.read(key, { range: { start: 1000 } })).rejects.toBeInstanceOf(
        RangeNotSatisfiableError,
      )
      await expect(storage.read(key, { range: { start: 5000, end: 6000 } })).rejects.toBeInstanceOf(
        RangeNotSatisfiableError,
      )
    })
    it('an inverted or negative range is a clear error', async () => {
      await setup()
      await expect(storage.read(key, { range: { start: 10, end: 5 } })).rejects.toBeInstanceOf(
        RangeNotSatisfiableError,
      )
      await expect(storage.read(key, { range: { start: -1 } })).rejects.toBeInstanceOf(
        RangeNotSatisfiableError,
      )
    })
    it('a range of a missing object is not-found', async () => {
      await setup()
      await expect(
        storage.read(`${run}/range/missing`, { range: { start: 0 } }),
      ).rejects.toBeInstanceOf(ObjectNotFoundError)
    })
  })
}
