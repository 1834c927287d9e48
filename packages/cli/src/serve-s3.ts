import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import { bindingLabel, type Binding } from './bindings.js'
import type { LoadedDataSource } from './data-source-loader.js'

/**
 * The buckets `attrstore serve-s3` serves: each `name=Entity.attribute` (the storage
 * `setStorage` registered for it) or `name=export` (a storage the module exports); without
 * any, one bucket per stored attribute, named `entity-attribute` in lower case.
 */
export function gatewayBuckets(
  loaded: Pick<LoadedDataSource, 'bindings' | 'storage'>,
  specs: readonly string[],
): Record<string, AttributeStorage> {
  const bindings = loaded.bindings()
  if (specs.length === 0) {
    if (!bindings.length)
      throw new ConfigurationError(
        'No stored attribute has a storage: name the buckets with --bucket <name>=<export>, or register storages with setStorage.',
      )
    return Object.fromEntries(bindings.map((binding) => [defaultName(binding), binding.storage]))
  }
  const buckets: Record<string, AttributeStorage> = {}
  for (const spec of specs) {
    const equals = spec.indexOf('=')
    if (equals <= 0)
      throw new ConfigurationError(
        `--bucket ${JSON.stringify(spec)}: expected <name>=<Entity.attribute> or <name>=<export>`,
      )
    const name = spec.slice(0, equals)
    const source = spec.slice(equals + 1)
    const binding = bindings.find((b) => bindingLabel(b) === source)
    buckets[name] = binding ? binding.storage : loaded.storage(source)
  }
  return buckets
}

function defaultName(binding: Binding): string {
  return `${binding.metadata.name}-${binding.column.propertyPath}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
}
