import {
  assertContentRules,
  checkContent,
  checkStoredObject,
  hasContentRules,
  type AttributeStorage,
  type Body,
  type WriteOptions,
  type WriteResult,
} from '@attrstore/core'
import { isExistingObject } from '@attrstore/core/driver'
import type { AttachmentOptions } from './options.js'

/** What {@link writeChecked} needs to know of the attribute. */
interface CheckedAttribute<Entity extends object> {
  readonly entityName: string
  readonly access: { readonly propertyPath: string }
  readonly options: AttachmentOptions<Entity>
}

/**
 * `storage.write(body, options)` under the attribute's content rules (`maxSize`, `accept`,
 * `sniff`): a body that breaks one is refused with a `ValidationError` before its row is
 * written, and nothing of it is kept. An import is checked on the stored object (its size,
 * a ranged read of its first bytes); a new body on its bytes, a stream as it flows (it is
 * stopped at `maxSize`). When no type is declared, the one sniffed is recorded.
 */
export async function writeChecked<Entity extends object>(
  attribute: CheckedAttribute<Entity>,
  storage: AttributeStorage,
  body: Body,
  options: WriteOptions,
): Promise<WriteResult> {
  const rules = attribute.options
  if (!hasContentRules(rules)) return storage.write(body, options)
  const path = attribute.access.propertyPath
  assertContentRules(rules, `${attribute.entityName}.${path}`)
  const subject = {
    entity: attribute.entityName,
    attribute: path,
    contentType: options.contentType,
    fileName: options.context?.fileName,
  }
  if (isExistingObject(body)) {
    await checkStoredObject(storage, body.key, rules, subject)
    return storage.write(body, options)
  }
  const checked = await checkContent(body, rules, subject)
  try {
    return await storage.write(checked.body, { ...options, contentType: checked.contentType })
  } catch (error) {
    // A storage may wrap the stream's error in its own: the rule broken is what to tell.
    throw checked.failure() ?? error
  }
}
