import { inferredMediaTypeOf, isActiveContent } from '@attrstore/core'
import {
  contentDispositionOf,
  isMediaType,
  safeFileName,
  type Disposition,
} from '@attrstore/core/driver'

export type { Disposition }

/** What decides how an object is presented: the caller's wishes and what the storage recorded. */
export interface PresentationRequest {
  /** The caller's media type; else the recorded one; else the one registered for `fileName`. */
  contentType?: string | undefined
  /** The media type the storage recorded with the object, if any. */
  recordedContentType?: string | undefined
  /** The caller's wish. Default: `inline`, where that is safe. */
  disposition?: Disposition | undefined
  /** The name a browser saves the file under. */
  fileName?: string | undefined
  /** Serve active content inline when asked to (sandboxed): see `SendObjectOptions.allowActiveContentInline`. */
  allowActiveContentInline?: boolean | undefined
}

/** The headers that say what the content is and how to present it. */
export interface Presentation {
  contentType: string
  disposition: Disposition
  /** The `Content-Disposition` value. */
  contentDisposition: string
  /** A `Content-Security-Policy` value, for active content served inline. */
  contentSecurityPolicy?: string
}

/** What a response whose media type is unknown says it is: bytes, to be saved. */
const UNKNOWN_TYPE = 'application/octet-stream'

/**
 * The policy of raw files that GitHub applies to user content it serves inline: no
 * script, plugin, form, or same-origin access; inline styles only, so a document still
 * shows as a document.
 */
export const ACTIVE_CONTENT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; sandbox"

/**
 * A recorded or given type that is no media type (one holding CR/LF, say) is treated as
 * unknown, never copied into a header.
 */
function mediaType(value: string | undefined): string | undefined {
  const trimmed = value?.trim()
  return trimmed && isMediaType(trimmed) ? trimmed : undefined
}

/**
 * Decides how content is presented, safe by default: active content (HTML, SVG, XML,
 * JavaScript: `isActiveContent`) and content of no known type are attachments, whatever
 * was asked, unless `allowActiveContentInline` opts active content in, and then only with
 * a sandboxing `Content-Security-Policy`.
 */
export function presentationOf(request: PresentationRequest): Presentation {
  const fileName = safeFileName(request.fileName)
  const known =
    mediaType(request.contentType) ??
    mediaType(request.recordedContentType) ??
    (fileName === undefined ? undefined : inferredMediaTypeOf(fileName))
  const contentType = known ?? UNKNOWN_TYPE
  const active = known !== undefined && isActiveContent(known)
  const wanted = request.disposition ?? 'inline'
  const inline =
    wanted === 'inline' &&
    known !== undefined &&
    known.toLowerCase() !== UNKNOWN_TYPE &&
    (!active || request.allowActiveContentInline === true)
  const disposition: Disposition = inline ? 'inline' : 'attachment'
  return {
    contentType,
    disposition,
    contentDisposition: contentDispositionOf(disposition, fileName),
    ...(inline && active ? { contentSecurityPolicy: ACTIVE_CONTENT_POLICY } : {}),
  }
}
