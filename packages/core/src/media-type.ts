import path from 'node:path'
import { lookup } from 'mime-types'

/** An RFC 9110 token: what a media type's type, subtype and parameter names are made of. */
const TOKEN = "[!#$%&'*+.^_`|~0-9a-z-]+"

/**
 * `type/subtype` and optional `; name=value` parameters (a token or a quoted string),
 * nothing else: no control character, nothing that could end a header.
 */
const MEDIA_TYPE = new RegExp(
  `^${TOKEN}/${TOKEN}([ \\t]*;[ \\t]*${TOKEN}=("[^"\\\\\\x00-\\x1f\\x7f]*"|${TOKEN}))*$`,
  'i',
)

/**
 * A media range of an `accept` rule: `*\/*`, `type/*` or `type/subtype`, no parameters; a
 * `*` is a wildcard there, never part of a name (`*\/png` is refused).
 */
const NAME = "[!#$%&'+.^_`|~0-9a-z-]+"
const MEDIA_RANGE = new RegExp(`^(?:\\*/\\*|${NAME}/(?:\\*|${NAME}))$`, 'i')

/**
 * Whether `value` is a well-formed media type (`text/plain; charset=utf-8`): one a
 * storage can record and a server can copy into a `Content-Type` header as it is.
 */
export function isMediaType(value: string): boolean {
  return MEDIA_TYPE.test(value)
}

/** Whether `value` is a media range an `accept` rule can hold (`image/png`, `image/*`, `*\/*`). */
export function isMediaRange(value: string): boolean {
  return MEDIA_RANGE.test(value)
}

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
