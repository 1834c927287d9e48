/**
 * In-process mutual exclusion per name: the half of emulated conditional writes that
 * stops two writes of this process from both passing the "does the key exist?" check.
 * Shared by every S3Storage of the process. It cannot see other processes.
 */
const held = new Map<string, Promise<void>>()

/** Waits until `name` is free, takes it, and returns the function that frees it. */
export async function acquireLock(name: string): Promise<() => void> {
  const previous = held.get(name) ?? Promise.resolve()
  let release!: () => void
  const mine = new Promise<void>((resolve) => {
    release = resolve
  })
  const tail = previous.then(() => mine)
  held.set(name, tail)
  await previous
  let released = false
  return () => {
    if (released) return
    released = true
    release()
    if (held.get(name) === tail) held.delete(name)
  }
}

/** Names currently held or awaited (for tests). */
export function heldLockCount(): number {
  return held.size
}
