import { ConfigurationError, type AttributeStorage } from '@attrstore/core'

/** A bucket the gateway serves: a storage, or the part of one under a prefix. */
export interface GatewayBucket {
  storage: AttributeStorage
  /** Only the storage's keys under this prefix, served without it (`a/` serves `a/x` as `x`). */
  prefix?: string
}

/** attrstore's own files in a storage (the filesystem's checksums and temporary files). */
const RESERVED_PREFIX = '.attrstore/'

/** S3's bucket naming rules, loosely: what clients accept in a path-style URL. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/

/** One served bucket: where its keys live in the storage, and which of them are hidden. */
export class ServedBucket {
  constructor(
    readonly name: string,
    readonly storage: AttributeStorage,
    /** The storage-key prefix of the bucket's keys. */
    readonly base: string,
    private readonly hiddenPrefixes: readonly string[],
  ) {}

  /** The storage key of a bucket key. */
  storageKey(key: string): string {
    return this.base + key
  }

  /**
   * Whether a bucket key is hidden: under a hidden prefix, or attrstore's reserved
   * prefix. A hidden key is answered exactly as a missing one.
   */
  isHidden(key: string): boolean {
    return (
      key.startsWith(RESERVED_PREFIX) ||
      (this.base + key).startsWith(RESERVED_PREFIX) ||
      this.hiddenPrefixes.some((prefix) => key.startsWith(prefix))
    )
  }
}

/**
 * The buckets of a gateway. `hidden` names buckets (`"archive"`) and prefixes in them
 * (`"files/private/"`): a hidden bucket is neither listed nor served, a hidden prefix
 * is absent from listings and its objects are answered as missing; both get the very
 * response something absent gets, so that nothing tells they exist.
 */
export class ServedBuckets {
  private readonly served = new Map<string, ServedBucket>()

  constructor(
    buckets: Record<string, AttributeStorage | GatewayBucket>,
    hidden: readonly string[] = [],
  ) {
    const hiddenBuckets = new Set(hidden.filter((entry) => !entry.includes('/')))
    for (const [name, source] of Object.entries(buckets)) {
      if (!BUCKET_NAME.test(name))
        throw new ConfigurationError(
          `S3 gateway: ${JSON.stringify(name)} is no bucket name (3-63 lower-case letters, digits, dots and hyphens)`,
        )
      if (hiddenBuckets.has(name)) continue
      const bucket: GatewayBucket = 'storage' in source ? source : { storage: source }
      const prefixes = hidden
        .filter((entry) => entry.startsWith(`${name}/`))
        .map((entry) => entry.slice(name.length + 1))
        .filter((prefix) => prefix !== '')
      this.served.set(name, new ServedBucket(name, bucket.storage, bucket.prefix ?? '', prefixes))
    }
  }

  /** The served bucket of a name; undefined for a missing or hidden one. */
  get(name: string): ServedBucket | undefined {
    return this.served.get(name)
  }

  /** The listed buckets, by name. */
  list(): ServedBucket[] {
    return [...this.served.values()].sort((a, b) => (a.name < b.name ? -1 : 1))
  }
}
