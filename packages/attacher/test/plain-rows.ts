/**
 * The attacher's tests without any ORM: an entity is a plain object, a "connection" a
 * string, and the reference index the set of keys plain rows hold.
 */
import type { AttributeStorage } from '@attrstore/core'
import {
  InProcessObjectLocks,
  UploadTokens,
  type AttachedAttribute,
  type AttacherHost,
  type CleanupFailure,
  type LoadMode,
} from '../src/index.js'

export interface Row {
  data?: unknown
}

/** The rows of one table, each holding a key: the reference index answers from them. */
export class Rows implements AttacherHost<string> {
  readonly objectLocks = new InProcessObjectLocks<string>()
  readonly uploadTokens = new UploadTokens({ secret: 'thirty-two bytes at least, here!' })
  readonly rows = new Set<Row>()
  readonly failures: CleanupFailure[] = []

  isReferenced(_storage: AttributeStorage, key: string): Promise<boolean> {
    return Promise.resolve([...this.rows].some((row) => row.data === key))
  }

  lockReferences(): Promise<void> {
    return Promise.resolve()
  }

  report(failure: CleanupFailure): void {
    this.failures.push(failure)
  }

  orphaned(): void {}
}

/** The `data` attribute of a `File` row, kept in `storage`. */
export function attribute(
  storage: AttributeStorage,
  load: LoadMode = 'eager',
): AttachedAttribute<Row> {
  return {
    entityName: 'File',
    access: {
      propertyPath: 'data',
      getEntityValue: (entity) => entity.data,
      setEntityValue: (entity, value) => {
        entity.data = value
      },
    },
    options: { load },
    storage: () => storage,
  }
}
