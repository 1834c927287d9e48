import { randomBytes } from 'node:crypto'
import { expect } from 'vitest'
import { ObjectNotFoundError } from '../errors.js'
import { sha256Hex } from '../integrity.js'
import { capabilityCheck } from './capability-check.js'
import type { SuiteContext } from './context.js'

/** `readWhole`: the bytes `read` gives, the hash `open` tells, a Buffer of its own; missing objects. */
export function describeWholeReads(context: SuiteContext): void {
  capabilityCheck(
    context,
    'readWhole',
    'gives the whole content and the hash open tells, in a Buffer the caller owns',
    async (storage) => {
      for (const size of [0, 1, 70_000]) {
        const body = randomBytes(size)
        const { key } = await storage.write(body)
        const whole = await storage.readWhole(key)
        expect(Buffer.isBuffer(whole.bytes)).toBe(true)
        expect(whole.bytes.equals(body)).toBe(true)
        const opened = await storage.open(key)
        opened.stream.destroy()
        expect(whole.sha256).toBe(opened.sha256)
        if (whole.sha256 !== undefined) expect(whole.sha256).toBe(sha256Hex(body))
        // The caller's own: changing it changes nothing stored.
        if (size > 0) {
          whole.bytes.fill(whole.bytes[0]! ^ 0xff)
          expect((await storage.read(key)).equals(body)).toBe(true)
        }
      }
    },
  )

  capabilityCheck(
    context,
    'readWhole',
    'a missing object: ObjectNotFoundError',
    async (storage) => {
      const { key } = await storage.write('soon gone')
      await storage.delete(key)
      await expect(storage.readWhole(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    },
  )
}
