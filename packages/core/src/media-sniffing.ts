import { fileTypeFromBuffer, supportedMimeTypes } from 'file-type'
import { charset, extensions } from 'mime-types'

/**
 * How many leading bytes {@link sniffMediaType} looks at: what `file-type` needs to tell
 * the formats it knows (its `reasonableDetectionSizeInBytes`, which its typings do not
 * declare). A stream is never read further to sniff it.
 */
export const SNIFF_LENGTH = 4100

/** What the first bytes of a content tell about its media type. */
export interface SniffedType {
  /**
   * The media type: the format found (`image/png`, `text/html`...), else `text/plain`
   * (`text` evidence) or `application/octet-stream` (`binary`); undefined when `empty`.
   */
  type: string | undefined
  /**
   * - `signature`: a binary format's magic bytes, found by `file-type`;
   * - `container`: a ZIP or OLE compound file, which several formats share (Office and
   *   OpenDocument files, EPUB, JAR...): the bytes say only "some ZIP-based format";
   * - `markup`: HTML, SVG or other XML, from its first tag;
   * - `text`: no known format, and none of the bytes a text never holds (plain text, CSV,
   *   JSON, Markdown... cannot be told apart from their bytes);
   * - `binary`: no known format, with bytes no text holds;
   * - `empty`: no bytes at all.
   */
  evidence: 'signature' | 'container' | 'markup' | 'text' | 'binary' | 'empty'
  /** The format's usual file extension, when `file-type` found it (`png`). */
  extension?: string
}

/** Formats other formats are built on: seeing one, the bytes do not tell which format it is. */
const CONTAINERS = new Set(['application/zip', 'application/x-cfb'])

/**
 * What the first bytes of a content say it is. `head` is the content's first
 * {@link SNIFF_LENGTH} bytes (or all of it, when shorter).
 *
 * Binary formats are found by `file-type` (magic numbers). It cannot find text formats,
 * and finds XML only as `application/xml`, so markup is told by a small check written
 * here, after the WHATWG MIME Sniffing standard's rules for an unknown type (section 7.1):
 * after a BOM and whitespace, `<!DOCTYPE HTML`, `<!--` or one of its listed HTML tags
 * (`<html`, `<script`, `<iframe`, `<body`, `<div`, `<a`, `<p`...) followed by a space or
 * `>` is `text/html`; `<?xml` is XML. Unlike a browser, whose sniffing never yields SVG, the
 * root element of XML is looked at (after the prolog, comments and doctype in `head`):
 * `svg` is `image/svg+xml`, `html` is `application/xhtml+xml`; `<svg` itself is SVG. What
 * is neither is `text` unless it holds a byte the same standard calls binary (controls
 * other than tab, newlines, form feed and escape), like a browser telling `text/plain`
 * from `application/octet-stream`.
 */
export async function sniffMediaType(head: Uint8Array): Promise<SniffedType> {
  if (head.length === 0) return { type: undefined, evidence: 'empty' }
  const sample = head.subarray(0, SNIFF_LENGTH)
  const markup = markupType(sample)
  if (markup !== undefined) return { type: markup, evidence: 'markup' }
  const found = await fileTypeFromBuffer(sample)
  if (found !== undefined) {
    return {
      type: found.mime,
      evidence: CONTAINERS.has(found.mime) ? 'container' : 'signature',
      extension: found.ext,
    }
  }
  return hasBinaryBytes(sample)
    ? { type: 'application/octet-stream', evidence: 'binary' }
    : { type: 'text/plain', evidence: 'text' }
}

/** WHATWG mimesniff 7.1: tags whose opening, followed by a space or `>`, marks HTML. */
const HTML_OPENINGS =
  /^<(?:!doctype html|html|head|script|iframe|h1|div|font|table|a|style|title|b|body|br|p|!--)[ >]/i
/** Before an XML document's root element: a prolog, processing instructions, comments, a doctype. */
const XML_ROOT =
  /^(?:\s+|<\?[\s\S]*?\?>|<!--[\s\S]*?-->|<!doctype[^>[]*(?:\[[\s\S]*?\])?\s*>)*<([a-z_][\w:.-]*)/i

function markupType(sample: Uint8Array): string | undefined {
  // latin1 maps each byte to one character: the patterns are ASCII.
  const text = Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength)
    .toString('latin1')
    .replace(/^\xEF\xBB\xBF/, '')
    .replace(/^[\t\n\f\r ]+/, '')
  if (HTML_OPENINGS.test(text)) return 'text/html'
  if (!/^<(?:\?xml|svg[\s>/]|!doctype svg)/i.test(text)) return undefined
  const root = XML_ROOT.exec(text)?.[1]?.toLowerCase()
  if (root === 'svg' || root?.endsWith(':svg')) return 'image/svg+xml'
  if (root === 'html' || root?.endsWith(':html')) return 'application/xhtml+xml'
  return 'application/xml'
}

/** WHATWG mimesniff's binary data bytes: what no text holds. A UTF-16 BOM makes it text. */
function hasBinaryBytes(sample: Uint8Array): boolean {
  if (
    sample.length >= 2 &&
    ((sample[0] === 0xfe && sample[1] === 0xff) || (sample[0] === 0xff && sample[1] === 0xfe))
  )
    return false
  for (const byte of sample) {
    if (
      byte <= 0x08 ||
      byte === 0x0b ||
      (byte >= 0x0e && byte <= 0x1a) ||
      (byte >= 0x1c && byte <= 0x1f)
    )
      return true
  }
  return false
}

/** The type without parameters, lower-case: `Image/PNG; x=1` -> `image/png`. */
export function mediaTypeEssence(mediaType: string): string {
  return mediaType.split(';')[0]!.trim().toLowerCase()
}

/** Text formats: those mime-db gives a charset (text/*, JSON, JavaScript...), and `+json`/`+xml` types. */
export function isTextualType(mediaType: string): boolean {
  const essence = mediaTypeEssence(mediaType)
  return charset(essence) !== false || /\+(?:json|xml)$/.test(essence)
}

function isXmlType(essence: string): boolean {
  return essence === 'application/xml' || essence === 'text/xml' || essence.endsWith('+xml')
}

/**
 * Formats `file-type` finds by their magic bytes (text formats aside): declared for bytes
 * in which it found nothing, such a type is proven wrong.
 */
const SIGNATURE_TYPES = new Set([...supportedMimeTypes].filter((type) => !isTextualType(type)))

/**
 * Whether a declared media type can be what the sniffed bytes are. Only what the bytes
 * prove wrong is inconsistent: a type of another format found by its signature (two names
 * of one format, such as `image/x-icon` and `image/vnd.microsoft.icon`, are one: mime-db
 * registers the same extension for both), markup declared as anything but markup or text,
 * a format whose signature is absent, a text type for bytes no text holds. A ZIP or OLE
 * file may be any non-text `application/*` type. `application/octet-stream` claims
 * nothing and is consistent with everything.
 */
export function isConsistentMediaType(declared: string, sniffed: SniffedType): boolean {
  const essence = mediaTypeEssence(declared)
  if (essence === 'application/octet-stream' || sniffed.type === undefined) return true
  if (essence === sniffed.type) return true
  switch (sniffed.evidence) {
    case 'signature':
      return (
        sniffed.extension !== undefined && (extensions[essence] ?? []).includes(sniffed.extension)
      )
    case 'container':
      return essence.startsWith('application/') && !isTextualType(essence)
    case 'markup':
      if (essence.startsWith('text/')) return true
      if (sniffed.type === 'text/html' || sniffed.type === 'application/xhtml+xml')
        return essence === 'text/html' || essence === 'application/xhtml+xml'
      if (sniffed.type === 'image/svg+xml') return isXmlType(essence)
      return isXmlType(essence) && essence !== 'image/svg+xml'
    case 'text':
      return !SIGNATURE_TYPES.has(essence)
    case 'binary':
      return !SIGNATURE_TYPES.has(essence) && !isTextualType(essence)
    default:
      return true
  }
}
