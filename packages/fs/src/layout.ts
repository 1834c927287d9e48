import path from 'node:path'
import { InvalidKeyError } from '@attrstore/core'

/** The directory, under the root, where the storage keeps its own files. */
export const RESERVED_DIRECTORY = '.attrstore'

/**
 * Where everything lives under one root:
 * - `<root>/<key>`: the objects;
 * - `<root>/.attrstore/tmp/<uuid>.tmp`: bodies being written (renamed into place when whole);
 * - `<root>/.attrstore/sha256/<key>`: the SHA-256 recorded for each object.
 */
export class Layout {
  readonly root: string
  readonly temporaryDirectory: string
  private readonly checksumDirectory: string

  constructor(root: string) {
    this.root = path.resolve(root)
    this.temporaryDirectory = path.join(this.root, RESERVED_DIRECTORY, 'tmp')
    this.checksumDirectory = path.join(this.root, RESERVED_DIRECTORY, 'sha256')
  }

  /** The key's file. The key was validated; this re-checks containment, whatever the key. */
  objectPath(key: string): string {
    if (key === RESERVED_DIRECTORY || key.startsWith(`${RESERVED_DIRECTORY}/`)) {
      throw new InvalidKeyError(
        key,
        `"${RESERVED_DIRECTORY}/" is reserved for the storage's own files`,
      )
    }
    return this.contained(this.root, key)
  }

  checksumPath(key: string): string {
    return this.contained(this.checksumDirectory, key)
  }

  /** Back from a path under the root to its key ("/"-separated on every platform). */
  keyOf(file: string): string {
    return path.relative(this.root, file).split(path.sep).join('/')
  }

  private contained(base: string, key: string): string {
    const resolved = path.resolve(base, ...key.split('/'))
    if (!resolved.startsWith(base + path.sep)) {
      throw new InvalidKeyError(key, 'resolves outside the storage root')
    }
    return resolved
  }
}
