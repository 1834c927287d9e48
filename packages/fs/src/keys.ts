import { type KeyGenerator } from '@attrstore/core'
import { safeExtension, uuidKeyGenerator } from '@attrstore/core/driver'

/**
 * The filesystem storage's default key: `ab/cd/<uuid><.ext>`. Two levels of 256 sharded
 * directories keep a million objects at about 15 per directory; the extension of a known
 * file name is kept, as CubicWeb's BytesFileSystemStorage does, so the files stay openable.
 */
export const shardedKeyGenerator: KeyGenerator = async (context) => {
  const id = await uuidKeyGenerator(context)
  return `${id.slice(0, 2)}/${id.slice(2, 4)}/${id}${safeExtension(context.fileName)}`
}
