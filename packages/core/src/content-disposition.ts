import { create as formatContentDisposition } from 'content-disposition'
import { ConfigurationError } from './errors.js'

/** How a response asks the browser to treat its content. */
export type Disposition = 'inline' | 'attachment'

/**
 * Control characters, and the bidirectional formatting characters (U+061C, U+200E, U+200F,
 * U+202A to U+202E, U+2066 to U+2069) with which `invoice<U+202E>fdp.exe` shows as
 * `invoiceexe.pdf`: a name must read as what is saved.
 */
// eslint-disable-next-line no-control-regex -- control characters are what it matches
const UNSAFE_IN_NAMES = /[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g

/** Anything but printable ASCII: what the ASCII `filename` fallback cannot carry. */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g

/**
 * The part of `fileName` a browser should save under: its last path segment (a name is no
 * place to say where to save), without control or bidirectional formatting characters.
 * `undefined` when nothing is left.
 */
export function safeFileName(fileName: string | undefined): string | undefined {
  if (fileName === undefined) return undefined
  const withoutControls = fileName.replace(UNSAFE_IN_NAMES, '')
  const lastSegment = withoutControls.split(/[/\\]/).pop()!.trim()
  return lastSegment === '' || lastSegment === '.' || lastSegment === '..' ? undefined : lastSegment
}

/**
 * The `Content-Disposition` of `disposition` with `fileName` (made safe by
 * {@link safeFileName}), in the RFC 6266 / RFC 8187 form of `content-disposition`: a
 * UTF-8 `filename*` where the name needs one and an ASCII `filename` fallback (other
 * characters become `_`), quoted as needed. Only printable ASCII comes out, so no name
 * can add a header or a parameter. Used for the responses attrstore serves and for the
 * `response-content-disposition` of presigned URLs alike.
 * Throws `ConfigurationError` for a disposition that is neither `inline` nor `attachment`.
 */
export function contentDispositionOf(disposition: Disposition, fileName?: string): string {
  if (disposition !== 'inline' && disposition !== 'attachment') {
    throw new ConfigurationError(
      `disposition must be "inline" or "attachment", got ${JSON.stringify(disposition)}`,
    )
  }
  const name = safeFileName(fileName)
  if (name === undefined) return disposition
  return formatContentDisposition(name, {
    type: disposition,
    fallback: name.replace(NOT_PRINTABLE_ASCII, '_'),
  })
}
