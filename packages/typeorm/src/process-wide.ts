/**
 * One value per process, shared by every copy of this package loaded in it: an application
 * compiled to CommonJS and the attrstore CLI (an ES module) each load their own copy of
 * `@attrstore/typeorm`, and what the application's copy registers (decorated attributes,
 * storages) must be what the CLI's copy reads.
 */
export function processWide<T>(name: string, create: () => T): T {
  const slots = globalThis as Record<symbol, unknown>
  const slot = Symbol.for(`attrstore.typeorm.${name}`)
  return (slots[slot] ??= create()) as T
}
