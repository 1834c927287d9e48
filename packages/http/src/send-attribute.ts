import type { IncomingMessage, ServerResponse } from 'node:http'
import { attachedAttribute, type AttachedObject } from '@attrstore/attacher'
import { answerFailure } from './failure-response.js'
import { sendObject, type SendObjectOptions, type SendOutcome } from './send-object.js'

/** A property of `Entity`, or a dotted path into an embedded one (`'embedded.data'`). */
export type AttributePath<Entity> = (keyof Entity & string) | `${keyof Entity & string}.${string}`

/**
 * The stored object behind `entity`'s `attribute`, or the answer to a request for it when
 * there is none: its failure status (404 for a null attribute, 500 for an entity attrstore
 * never loaded or saved), told to `onError`.
 */
function objectOrAnswer(
  response: ServerResponse,
  entity: object,
  attribute: string,
  options: Pick<SendObjectOptions, 'onError'>,
): { object: AttachedObject } | { outcome: SendOutcome } {
  try {
    return { object: attachedAttribute(entity, attribute) }
  } catch (error) {
    return {
      outcome: { status: answerFailure(response, error, undefined, options.onError), error },
    }
  }
}

/**
 * Serves the content of a stored attribute of a loaded (or saved) entity, as
 * {@link sendObject} does: the key and storage come from what attrstore recorded when it
 * loaded or saved the entity, the media type and file name from the attribute's
 * `contentType` and `fileName` options (`options` win over both). ORM-neutral.
 *
 * A null attribute answers 404 (`NullAttributeError`); an entity attrstore did not load or
 * save answers 500 (`AttributeNotAttachedError`, a programming error): both told to
 * `onError`.
 */
export async function sendAttribute<Entity extends object>(
  request: IncomingMessage,
  response: ServerResponse,
  entity: Entity,
  attribute: AttributePath<Entity>,
  options: SendObjectOptions = {},
): Promise<SendOutcome> {
  const found = objectOrAnswer(response, entity, attribute, options)
  if ('outcome' in found) return found.outcome
  const { key, storage, contentType, fileName } = found.object
  return sendObject(request, response, storage, key, {
    ...options,
    contentType: options.contentType ?? contentType,
    fileName: options.fileName ?? fileName,
  })
}
