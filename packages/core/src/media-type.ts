import path from 'node:path'
import { lookup } from 'mime-types'

/**
 * The media type registered for a file name's extension (the IANA and common types that
 * `mime-types` knows), e.g. `application/pdf` for `report.pdf`; `undefined` for a name
 * without an extension or with one nobody registered.
 *
 * {@link BaseStorage.write} uses it for a write that gives a `context.fileName` but no
 * `contentType`.
 */
export function mediaTypeOf(fileName: string): string | undefined {
  // Only the extension: `lookup` also takes a bare extension, so a file named just "json"
  // would otherwise pass for application/json.
  const extension = path.extname(fileName)
  if (extension === '') return undefined
  return lookup(extension) || undefined
}
