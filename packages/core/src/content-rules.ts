import { Readable } from 'node:stream'
import { normalizeBody, type Body } from './body.js'
import type { AttributeStorage } from './contract.js'
import { ConfigurationError, ValidationError } from './errors.js'
import {
  isConsistentMediaType,
  mediaTypeEssence,
  sniffMediaType,
  SNIFF_LENGTH,
  type SniffedType,
} from './media-sniffing.js'
import { isActiveContent, isMediaRange, mediaTypeOf } from './media-type.js'

/**
 * What an attribute accepts as content, checked on the real bytes before anything is kept:
 * a write that breaks a rule fails with a {@link ValidationError}.
 */
export interface ContentRules {
  /**
   * Largest content, in bytes. A streamed body is stopped as soon as more has flowed, so
   * an endless or huge stream costs at most this much (plus one chunk) to refuse.
   */
  maxSize?: number | undefined
  /**
   * The media types accepted: `'application/pdf'`, `'image/*'`, `'*\/*'`, or a list of
   * them. A wildcard never matches active content (HTML, XHTML, SVG, XML, JavaScript: what
   * a browser runs when the object is served inline): name such types to accept them. An
   * empty body is refused: no byte of it tells its type.
   */
  accept?: string | readonly string[] | undefined
  /**
   * Tell the media type from the first bytes (see `sniffMediaType`): the bytes must be of
   * an accepted type and consistent with a declared `contentType`; when none is declared,
   * a binary format found is recorded with the object. Default: true when `accept` is
   * given. Without it, `accept` is checked against the declared type, else the one of the
   * file name's extension.
   */
  sniff?: boolean | undefined
}

/** Who a content is for, and what its writer says about it. */
export interface ContentSubject {
  /** Named in errors, e.g. `File`. */
  entity: string
  /** Named in errors, e.g. `data`. */
  attribute: string
  /** The media type the writer declares. */
  contentType?: string | undefined
  /** The content's file name: its extension's type stands in where the bytes cannot tell. */
  fileName?: string | undefined
}

/** A body that passed the checks that can be made before it is stored. */
export interface CheckedContent {
  /** What to store instead of the body given: the same bytes, or a stream that enforces `maxSize`. */
  body: Body
  /** The media type to record: the declared one, else the one sniffed (never active content). */
  contentType: string | undefined
  /**
   * The {@link ValidationError} the stream failed with while being stored, if it did (a
   * storage may report it wrapped in its own error).
   */
  failure(): ValidationError | undefined
}

/**
 * The media ranges of an `accept` rule, checked and lower-cased: throws a
 * `ConfigurationError` naming `where` unless `accept` is one media range (`image/png`,
 * `image/*`, `*\/*`) or a non-empty list of them. One rule for every place that takes an
 * `accept` (the decorator, a direct upload's request).
 */
export function acceptedMediaRanges(accept: unknown, where: string): string[] {
  const list: unknown[] =
    typeof accept === 'string' ? [accept] : Array.isArray(accept) ? accept : []
  const wrong = list.find(
    (range) => typeof range !== 'string' || !isMediaRange(mediaTypeEssence(range)),
  )
  if (list.length === 0 || wrong !== undefined)
    throw new ConfigurationError(
      `${where}: accept must be media types or wildcards such as 'application/pdf' or 'image/*', ` +
        `or a non-empty list of them; got ${JSON.stringify(wrong ?? accept)}`,
    )
  return list.map((range) => mediaTypeEssence(range as string))
}

/** Throws a `ConfigurationError` naming `where` for rules that are not well-formed. */
export function assertContentRules(rules: ContentRules, where: string): void {
  const { maxSize, accept, sniff } = rules
  if (maxSize !== undefined && !(Number.isSafeInteger(maxSize) && maxSize >= 0))
    throw new ConfigurationError(
      `${where}: maxSize must be a number of bytes (an integer >= 0), got ${String(maxSize)}`,
    )
  if (accept !== undefined) acceptedMediaRanges(accept, where)
  if (sniff !== undefined && typeof sniff !== 'boolean')
    throw new ConfigurationError(`${where}: sniff must be true or false, got ${String(sniff)}`)
}

/** Whether any rule is set: without one, a body is stored unchecked. */
export function hasContentRules(rules: ContentRules): boolean {
  return rules.maxSize !== undefined || rules.accept !== undefined || rules.sniff === true
}

function acceptList(accept: string | readonly string[]): readonly string[] {
  return typeof accept === 'string' ? [accept] : accept
}

/**
 * Whether `mediaType` is one of `accept`'s types (parameters and case aside). `image/*`
 * and `*\/*` match no active content (`isActiveContent`): SVG is accepted only as
 * `image/svg+xml`.
 */
export function acceptsMediaType(accept: string | readonly string[], mediaType: string): boolean {
  const essence = mediaTypeEssence(mediaType)
  const active = isActiveContent(essence)
  return acceptList(accept).some((range) => {
    const wanted = mediaTypeEssence(range)
    if (wanted === essence) return true
    if (active) return false
    return wanted === '*/*' || (wanted.endsWith('/*') && essence.startsWith(wanted.slice(0, -1)))
  })
}

/**
 * Checks a body against `rules` before it is stored. Bytes known in full are checked
 * whole; a stream has its first bytes read ahead (never more than `SNIFF_LENGTH`) and is
 * handed back as a stream of all its bytes, which fails with a {@link ValidationError} as
 * soon as more than `maxSize` flowed. Throws a {@link ValidationError} for what breaks a
 * rule (a stream refused is destroyed), `InvalidBodyError` for what is no body. `body`
 * must not be an existing object: see {@link checkStoredObject}.
 */
export async function checkContent(
  body: Body,
  rules: ContentRules,
  subject: ContentSubject,
): Promise<CheckedContent> {
  const normalized = normalizeBody(body)
  if ('bytes' in normalized) {
    const { bytes } = normalized
    if (rules.maxSize !== undefined && bytes.length > rules.maxSize)
      throw tooLarge(subject, rules.maxSize, bytes.length, false)
    const contentType = await checkMediaType(bytes.subarray(0, SNIFF_LENGTH), rules, subject)
    return { body, contentType, failure: () => undefined }
  }
  const { stream, size } = normalized
  if (rules.maxSize !== undefined && size !== undefined && size > rules.maxSize) {
    stream.destroy()
    throw tooLarge(subject, rules.maxSize, size, false)
  }
  let failure: ValidationError | undefined
  const chunks = limitedChunks(stream, rules.maxSize, (read) => {
    return (failure = tooLarge(subject, rules.maxSize!, read, true))
  })
  const sniffing = rules.sniff ?? rules.accept !== undefined
  const wanted = sniffing ? SNIFF_LENGTH : rules.accept !== undefined ? 1 : 0
  const head: Buffer[] = []
  let headLength = 0
  let ended = false
  while (headLength < wanted) {
    const next = await chunks.next()
    if (next.done) {
      ended = true
      break
    }
    head.push(next.value)
    headLength += next.value.length
  }
  let contentType: string | undefined
  try {
    contentType = await checkMediaType(
      Buffer.concat(head).subarray(0, SNIFF_LENGTH),
      rules,
      subject,
    )
  } catch (error) {
    await chunks.return(undefined) // destroys the source: a file descriptor, a connection
    throw error
  }
  const replayed = Readable.from(replay(head, ended ? undefined : chunks), { objectMode: false })
  return { body: replayed, contentType, failure: () => failure }
}

/** A stream's chunks, failing with `exceeded(bytesRead)`'s error once more than `maxSize` flowed. */
async function* limitedChunks(
  stream: Readable,
  maxSize: number | undefined,
  exceeded: (read: number) => ValidationError,
): AsyncGenerator<Buffer, void, undefined> {
  let read = 0
  for await (const chunk of stream as AsyncIterable<Buffer | string>) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk
    read += bytes.length
    if (maxSize !== undefined && read > maxSize) throw exceeded(read)
    yield bytes
  }
}

async function* replay(
  head: Buffer[],
  rest: AsyncGenerator<Buffer, void, undefined> | undefined,
): AsyncGenerator<Buffer, void, undefined> {
  yield* head
  if (rest) yield* rest
}

/**
 * Checks an object already in `storage` against `rules` before it is imported: its size
 * from `stat`, its type from a ranged read of its first `SNIFF_LENGTH` bytes (only when a
 * type rule is set). The object's recorded media type counts as declared when `subject`
 * declares none. Throws a {@link ValidationError}, or what the storage throws (an
 * `ObjectNotFoundError`...).
 */
export async function checkStoredObject(
  storage: AttributeStorage,
  key: string,
  rules: ContentRules,
  subject: ContentSubject,
): Promise<void> {
  const stat = await storage.stat(key)
  if (rules.maxSize !== undefined && stat.size > rules.maxSize)
    throw tooLarge(subject, rules.maxSize, stat.size, false)
  if (rules.accept === undefined && rules.sniff !== true) return
  const head =
    stat.size === 0
      ? Buffer.alloc(0)
      : await storage.read(key, { range: { start: 0, end: Math.min(stat.size, SNIFF_LENGTH) - 1 } })
  await checkMediaType(head, rules, {
    ...subject,
    contentType: subject.contentType ?? stat.contentType,
  })
}

/** Checks the type rules on a content's first bytes; returns the media type to record. */
async function checkMediaType(
  head: Uint8Array,
  rules: ContentRules,
  subject: ContentSubject,
): Promise<string | undefined> {
  const { accept } = rules
  const declared = subject.contentType
  if (head.length === 0 && accept !== undefined) throw emptyContent(subject, acceptList(accept))
  const sniffing = rules.sniff ?? accept !== undefined
  const named = subject.fileName === undefined ? undefined : mediaTypeOf(subject.fileName)
  if (!sniffing) {
    const type = declared ?? named
    if (accept !== undefined && (type === undefined || !acceptsMediaType(accept, type)))
      throw notAccepted(subject, acceptList(accept), type, 'declared')
    return declared
  }
  const sniffed = await sniffMediaType(head)
  const decisive = sniffed.evidence === 'signature' || sniffed.evidence === 'markup'
  if (accept !== undefined && decisive && !acceptsMediaType(accept, sniffed.type!))
    throw notAccepted(subject, acceptList(accept), sniffed.type, 'sniffed')
  const claims = declared !== undefined && mediaTypeEssence(declared) !== 'application/octet-stream'
  if (claims && !isConsistentMediaType(declared, sniffed))
    throw mismatch(subject, declared, sniffed)
  // What the content is taken for: the declaration, else what the bytes prove, else the
  // file name's type where the bytes allow it (a CSV, a DOCX the sniffer sees as ZIP).
  const taken = claims
    ? declared
    : decisive
      ? sniffed.type
      : named !== undefined && isConsistentMediaType(named, sniffed)
        ? named
        : sniffed.type
  if (accept !== undefined && (taken === undefined || !acceptsMediaType(accept, taken)))
    throw notAccepted(subject, acceptList(accept), taken, claims ? 'declared' : 'sniffed')
  if (declared !== undefined) return declared
  const found = sniffed.evidence === 'signature' || sniffed.evidence === 'container'
  return found && !isActiveContent(sniffed.type!) ? sniffed.type : undefined
}

const NOTHING_STORED = 'It was refused before anything was stored.'

function tooLarge(
  subject: ContentSubject,
  limit: number,
  actual: number,
  stopped: boolean,
): ValidationError {
  const size = stopped ? `it was stopped after ${actual} bytes` : `it has ${actual} bytes`
  return new ValidationError(
    { ...names(subject), rule: 'maxSize', expected: limit, actual },
    `the content is larger than maxSize (${limit} bytes): ${size}. ${NOTHING_STORED} ` +
      "Store a smaller content, or raise the attribute's maxSize.",
  )
}

function notAccepted(
  subject: ContentSubject,
  accept: readonly string[],
  type: string | undefined,
  how: 'declared' | 'sniffed',
): ValidationError {
  const what =
    type === undefined
      ? 'no media type could be told for the content (declare its contentType, or give a file name with a known extension)'
      : how === 'sniffed'
        ? `the content's bytes are ${type}, which is not accepted`
        : `the content's type ${type} is not accepted`
  return new ValidationError(
    { ...names(subject), rule: 'accept', expected: accept, actual: type },
    `${what} (accept: ${accept.join(', ')}). ${NOTHING_STORED} ` +
      "Store a content of an accepted type, or add its type to the attribute's accept.",
  )
}

function emptyContent(subject: ContentSubject, accept: readonly string[]): ValidationError {
  return new ValidationError(
    { ...names(subject), rule: 'empty', expected: accept, actual: 0 },
    `the content is empty, and an attribute that accepts only ${accept.join(', ')} refuses ` +
      `empty contents (no byte tells their type). ${NOTHING_STORED} Store a non-empty content, or null.`,
  )
}

function mismatch(
  subject: ContentSubject,
  declared: string,
  sniffed: SniffedType,
): ValidationError {
  return new ValidationError(
    { ...names(subject), rule: 'mismatch', expected: declared, actual: sniffed.type },
    `the content is declared ${declared} (its contentType), but its bytes are ${sniffed.type} ` +
      `(${EVIDENCE[sniffed.evidence]}). ${NOTHING_STORED} ` +
      'Declare the type the content has, or store a content of the declared type.',
  )
}

const EVIDENCE: Record<SniffedType['evidence'], string> = {
  signature: 'by their magic bytes',
  container: 'a ZIP or OLE container',
  markup: 'by their first tag',
  text: 'text of no format with a signature',
  binary: 'binary data, no text',
  empty: 'no bytes',
}

function names(subject: ContentSubject): { entity: string; attribute: string } {
  return { entity: subject.entity, attribute: subject.attribute }
}
