/**
 * The index on a stored attribute's key column. After every commit that supersedes or
 * removes an object, attrstore asks whether another row still references its key
 * (`SELECT EXISTS ... WHERE key = $1`), and `attrstore gc`/`verify` look keys up by the
 * batch: without an index each of those scans the table, so updates and removals get
 * slower with every row stored.
 *
 * The index is declared in TypeORM's metadata exactly as `@Index()` declares one, so
 * `synchronize` creates it and `typeorm migration:generate` proposes it.
 */
import { getMetadataArgsStorage } from 'typeorm'

type MetadataArgsStorage = ReturnType<typeof getMetadataArgsStorage>
type IndexArgs = MetadataArgsStorage['indices'][number]
type ColumnList = NonNullable<IndexArgs['columns']>

/** The index entries this module declared: never read their (computed) targets while deciding one. */
const declaredHere = new WeakSet<object>()

/**
 * The target an entry gets when the class declares its own index on the column: a class no
 * entity is built from, so TypeORM leaves the entry out.
 */
function supersededByTheEntitysOwnIndex(): void {}

/**
 * Declares a non-unique index on the key column `propertyName` of `owner` (an entity or an
 * embedded class), named `name` or by TypeORM's naming strategy.
 *
 * An index the class declares itself on exactly that column (`@Index()` on the property,
 * `@Index(['data'])` or `@Unique(['data'])` on the class) replaces this one. Decorators run
 * in an order that depends on where they are written (a class decorator after all property
 * decorators), so this cannot be decided here: the entry's `target` is decided when
 * TypeORM reads it, while it builds the entity metadata, after every decorator has run.
 */
export function declareKeyColumnIndex(
  owner: object,
  propertyName: string,
  name: string | undefined,
): void {
  const storage = getMetadataArgsStorage()
  const args: IndexArgs = {
    get target() {
      return declaresOwnIndex(storage, owner, propertyName)
        ? supersededByTheEntitysOwnIndex
        : (owner as IndexArgs['target'])
    },
    ...(name === undefined ? {} : { name }),
    columns: [propertyName],
    synchronize: true,
    unique: false,
    spatial: false,
    fulltext: false,
    nullFiltered: false,
    sparse: false,
    background: false,
    concurrent: false,
  }
  declaredHere.add(args)
  storage.indices.push(args)
}

/** Whether `owner` declares an index or unique constraint on exactly `propertyName`. */
function declaresOwnIndex(
  storage: MetadataArgsStorage,
  owner: object,
  propertyName: string,
): boolean {
  const covers = (entry: { target: unknown; columns?: ColumnList }): boolean =>
    !declaredHere.has(entry) &&
    entry.target === owner &&
    entry.columns !== undefined &&
    isExactly(entry.columns, propertyName)
  return storage.indices.some(covers) || storage.uniques.some(covers)
}

/**
 * Whether a column list names `propertyName` alone. A function list (`(file) => [file.data]`)
 * is called as TypeORM calls it, with an object whose properties are their own names.
 */
function isExactly(columns: ColumnList, propertyName: string): boolean {
  let names: string[]
  if (Array.isArray(columns)) names = columns.map((column) => column.trim())
  else {
    const ownNames = new Proxy({}, { get: (_, property) => String(property) })
    const listed = columns(ownNames)
    names = Array.isArray(listed) ? listed.map(String) : Object.keys(listed)
  }
  return names.length === 1 && names[0] === propertyName
}
