import path from 'node:path'
import { lookup } from 'mime-types'

/**
 * The media type registered for a file name's extension (the IANA and common types that
 * `mime-types` knows), e.g. `application/pdf` for `report.pdf`; `undefined` for a name
 * without an extension or with one nobody registered.
 *
 * {@link BaseStorage.write} records it, through {@link inferredMediaTypeOf}, for a write
 * that gives a `context.fileName` but no `contentType`.
 */
export function mediaTypeOf(fileName: string): string | undefined {
  // Only the extension: `lookup` also takes a bare extension, so a file named just "json"
  // would otherwise pass for application/json.
  const extension = path.extname(fileName)
  if (extension === '') return undefined
  return lookup(extension) || undefined
}

/**
 * Types a browser runs, or renders as a document that can run scripts, when an object is
 * served inline (from a public bucket, a CDN, a signed URL): HTML, XHTML, SVG and any
 * other XML, JavaScript.
 */
const ACTIVE_CONTENT =
  /^(text\/html|text\/javascript|text\/ecmascript|application\/(x-)?(java|ecma)script|text\/xml|application\/xml|[a-z]+\/[^;]*\+xml)$/i

/** Whether a browser serving `mediaType` inline would run what it holds. */
export function isActiveContent(mediaType: string): boolean {
  return ACTIVE_CONTENT.test(mediaType.split(';')[0]!.trim())
}

/**
 * The media type a storage records for a write that names a file but gives no type: the
 * one {@link mediaTypeOf} gives, except active content. A user's `avatar.html` or
 * `logo.svg` is never recorded as `text/html` or `image/svg+xml` on the strength of its
 * name alone (served inline, that would be stored XSS); to record such a type, give it as
 * `contentType`.
 */
export function inferredMediaTypeOf(fileName: string): string | undefined {
  const type = mediaTypeOf(fileName)
  return type === undefined || isActiveContent(type) ? undefined : type
}
