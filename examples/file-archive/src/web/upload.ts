/**
 * An upload from the web page: the request body streams into the storage while its row is
 * written, hashed and counted on the way (no temporary file, no second read), in one
 * transaction: a body cut short leaves neither row nor object.
 */
import { pipeline, type Readable } from 'node:stream'
import { DigestStream } from '@attrstore/core/driver'
import type { Archive } from '../archive.js'
import { existingNames } from '../commands/shared.js'
import type { File } from '../entity.js'
import { UserError } from '../errors.js'
import { mediaTypeOf } from '../local-files.js'

/** The most an upload may hold: an example's guard against filling the disk. */
export const MAX_UPLOAD_BYTES = 1024 * 1024 * 1024

export interface Upload {
  name: string
  /** The type the browser gave; else the one registered for the name's extension. */
  mediaType: string | undefined
  body: Readable
  /** `Content-Length`, when the client sent one: a body of another size is refused. */
  declaredSize: number | undefined
}

/** A name the archive accepts: no control characters, no empty path segment. */
function checkedName(name: string): string {
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(name)) throw new UserError('the name holds control characters')
  const segments = name.split('/')
  if (name.length > 1024 || segments.some((segment) => segment.trim() === '' || segment === '..'))
    throw new UserError(`not a file name: ${JSON.stringify(name)}`)
  return name
}

export async function uploadFile(archive: Archive, upload: Upload): Promise<File> {
  const name = checkedName(upload.name)
  if (upload.declaredSize !== undefined && upload.declaredSize > MAX_UPLOAD_BYTES)
    throw new UserError(`larger than ${MAX_UPLOAD_BYTES} bytes`)
  const taken = await existingNames(archive, [name])
  if (taken.length > 0) throw new UserError(`already in the archive: ${name}`)
  const hashing = new DigestStream({
    key: name,
    expectedSize: upload.declaredSize,
    onProgress: ({ bytes }) => {
      if (bytes > MAX_UPLOAD_BYTES)
        hashing.destroy(new UserError(`larger than ${MAX_UPLOAD_BYTES} bytes`))
    },
  })
  const data = pipeline(upload.body, hashing, () => {})
  return archive.dataSource.transaction(async (manager) => {
    const files = manager.getRepository<File>(archive.files.target)
    const file = files.create({
      name,
      mediaType: upload.mediaType || mediaTypeOf(name),
      // Known once the body is through: written by the update below, in this transaction.
      size: 0,
      sha256: '',
      data,
    })
    await files.save(file)
    Object.assign(file, hashing.digest)
    await files.update(file.id, { size: file.size, sha256: file.sha256 })
    return file
  })
}
