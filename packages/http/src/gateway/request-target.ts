import { S3Error } from './s3-error.js'

/** The query of a request, decoded: each parameter with every value it was given. */
export type QueryParameters = Record<string, string[]>

/** What a path-style S3 request addresses, read from the raw request target. */
export interface RequestTarget {
  /** The path exactly as the client sent it: what it signed as the canonical URI. */
  rawPath: string
  /** The bucket, decoded; undefined for `/` (ListBuckets). */
  bucket: string | undefined
  /** The object key, decoded; undefined when the path names a bucket only. */
  key: string | undefined
  query: QueryParameters
}

const invalidUri = (): S3Error =>
  new S3Error(400, 'InvalidURI', "Couldn't parse the specified URI.")

function decode(component: string): string {
  try {
    // S3 paths and queries are percent-encoded; `+` is a plus sign, never a space.
    return decodeURIComponent(component)
  } catch {
    throw invalidUri()
  }
}

/**
 * Reads a path-style request target (`/bucket/key?query`): the only style a gateway
 * without DNS names per bucket can serve (clients are told `addressing_style = path`).
 */
export function readRequestTarget(url: string | undefined): RequestTarget {
  const target = url ?? '/'
  if (!target.startsWith('/')) throw invalidUri()
  const question = target.indexOf('?')
  const rawPath = question === -1 ? target : target.slice(0, question)
  const rawQuery = question === -1 ? '' : target.slice(question + 1)
  const query: QueryParameters = {}
  for (const part of rawQuery.split('&')) {
    if (part === '') continue
    const equals = part.indexOf('=')
    const name = decode(equals === -1 ? part : part.slice(0, equals))
    const value = equals === -1 ? '' : decode(part.slice(equals + 1))
    ;(query[name] ??= []).push(value)
  }
  const path = rawPath.slice(1)
  const slash = path.indexOf('/')
  const bucket = path === '' ? undefined : decode(slash === -1 ? path : path.slice(0, slash))
  const key = slash === -1 || slash === path.length - 1 ? undefined : decode(path.slice(slash + 1))
  return { rawPath, bucket, key, query }
}

/** The first value of a query parameter, or undefined when absent. */
export function parameter(query: QueryParameters, name: string): string | undefined {
  return query[name]?.[0]
}
