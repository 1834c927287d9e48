import { ConfigurationError } from '@attrstore/core'
import contentDisposition from 'content-disposition'

/** Printable ASCII: what a header value may safely carry. */
const NOT_PRINTABLE_ASCII = /[^\x20-\x7e]/g

/**
 * The `Content-Disposition` a signed URL asks the server to answer with: `inline` or
 * `attachment`, with the file name as RFC 8187 `filename*` (UTF-8, percent-encoded) and
 * an ASCII `filename` fallback for old clients (non-ASCII characters become `_`).
 * Only printable ASCII comes out: a name holding CR, LF or quotes cannot add a header
 * or a parameter. Directories in `fileName` are dropped (`a/b.pdf` names `b.pdf`).
 */
export function contentDispositionOf(
  disposition: 'inline' | 'attachment',
  fileName: string | undefined,
): string {
  if (disposition !== 'inline' && disposition !== 'attachment') {
    throw new ConfigurationError(
      `disposition must be "inline" or "attachment", got ${JSON.stringify(disposition)}`,
    )
  }
  if (fileName === undefined || fileName === '') return disposition
  const fallback = fileName.replace(NOT_PRINTABLE_ASCII, '_')
  return contentDisposition(fileName, { type: disposition, fallback })
}
