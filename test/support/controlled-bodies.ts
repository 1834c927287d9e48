/** Bodies and writes whose timing or failure a test controls. */
import type { WriteOptions } from '@attrstore/core'
import type { InstrumentedStorage } from '@attrstore/testing'

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))

/** A streamed body that yields some bytes, then fails. */
export function failingBody(afterMs = 0): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield Buffer.from('partial content ')
    if (afterMs) await sleep(afterMs)
    throw new Error('body failed on purpose')
  })()
}

/** A promise and the function that resolves it. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

/**
 * Makes the storage's writes for entities matching `which` wait for `until` before they
 * start: to order an upload after something else happened.
 */
export function delayWrites(
  storage: InstrumentedStorage,
  which: (entity: unknown) => boolean,
  until: Promise<unknown>,
): void {
  const write = storage.write.bind(storage)
  storage.write = async (body, options?: WriteOptions) => {
    if (which(options?.context?.entity)) await until
    return write(body, options)
  }
}
