import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { RangeNotSatisfiableError } from '../errors.js'
import type { SuiteContext } from './context.js'
import { digestOf } from './fixtures.js'

/**
 * Read options at their edges, the same on every storage: `range: null` means no range
 * (a column or JSON null), and `verify` with a range is refused (the recorded hash is the
 * whole object's: a range cannot be checked against it).
 */
export function describeReadOptions({ make, scoped, recordsSha256 }: SuiteContext): void {
  describe('read options at their edges', () => {
    const content = randomBytes(2000)

    it('range: null reads the whole object, in read, readStream and open', async () => {
      const storage = await make(scoped('read-options'))
      const { key } = await storage.write(content)
      const options = { range: null }
      expect((await storage.read(key, options)).equals(content)).toBe(true)
      expect((await digestOf(await storage.readStream(key, options))).size).toBe(content.length)
      const opened = await storage.open(key, options)
      expect((await digestOf(opened.stream)).size).toBe(content.length)
    })

    it('verify with a range is refused with RangeNotSatisfiableError, in read, readStream and open', async () => {
      const storage = await make(scoped('read-options'))
      const { key } = await storage.write(content)
      const options = { range: { start: 10, end: 20 }, verify: true }
      for (const attempt of [
        () => storage.read(key, options),
        () => storage.readStream(key, options),
        () => storage.open(key, options),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (caught: unknown) => caught,
        )
        expect(error).toBeInstanceOf(RangeNotSatisfiableError)
        expect(String(error)).toMatch(/verify/)
      }
      if (recordsSha256) {
        // Without the range, verify still works.
        expect((await storage.read(key, { verify: true })).equals(content)).toBe(true)
      }
    })
  })
}
