import { errorText } from '../core/error-text.ts';
import { errorMessage, UserFacingError } from '../core/errors.ts';
import type { GalleryBindingStore, GalleryResolver, SearchedGallery } from '../core/ports.ts';
import { LOCAL_TENANT, placeOf, type TenantId } from '../core/tenant.ts';
import type { ThreadKey } from '../core/types.ts';
import type { OpenGallery } from './ports.ts';

/**
 * The gallery of each thread: its channel's binding, else its tenant's (`genir gallery bind`);
 * the local tenant (web, terminal) falls back to GALLERY. A tenant with no binding gets none —
 * never another tenant's. Bound galleries open on first use and stay open.
 */
export class TenantGalleries implements GalleryResolver {
  private readonly opened = new Map<string, Promise<OpenGallery>>();

  constructor(
    private readonly bindings: GalleryBindingStore,
    private readonly local: OpenGallery,
    private readonly open: (name: string) => Promise<OpenGallery>,
  ) {}

  forThread(key: ThreadKey): Promise<SearchedGallery | null> {
    const { tenant, channel } = placeOf(key);
    return this.forTenant(tenant, channel);
  }

  async forTenant(tenant: TenantId, channel?: string): Promise<SearchedGallery | null> {
    const name = await this.bindings.lookup(tenant, channel);
    if (name === null) return tenant === LOCAL_TENANT ? this.local : null;
    return name === this.local.name ? this.local : this.named(name);
  }

  private async named(name: string): Promise<OpenGallery> {
    let opening = this.opened.get(name);
    if (!opening) {
      opening = this.open(name);
      this.opened.set(name, opening);
    }
    try {
      return await opening;
    } catch (err) {
      // Not kept: the next round tries again (e.g. once the gallery has been indexed).
      if (this.opened.get(name) === opening) this.opened.delete(name);
      throw new UserFacingError(
        'gallery-unavailable',
        errorText('gallery-unavailable', { name, reason: errorMessage(err) }),
        { cause: err },
      );
    }
  }

  async close(): Promise<void> {
    const all = await Promise.allSettled(this.opened.values());
    this.opened.clear();
    for (const g of all) if (g.status === 'fulfilled') await g.value.close();
  }
}
