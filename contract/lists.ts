/**
 * Every list the API returns has one shape, the one merchants know: `{"object":"list","data":[…],"has_more":boolean}`,
 * paged with `limit` (1–100, default 10) and `starting_after` (the id of the last item of the previous page).
 * Lists are newest first, so items created while a client pages through never appear on a later page.
 */
import * as z from 'zod/mini';

export const DEFAULT_LIST_LIMIT = 10;
export const MAX_LIST_LIMIT = 100;

export interface ListPage<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export const listPage = <T>(data: T[], hasMore: boolean): ListPage<T> => ({ object: 'list', data, has_more: hasMore });

const limitMessage = `limit must be an integer between 1 and ${MAX_LIST_LIMIT}`;

/** The query of a list request (query string values arrive as strings). Strict: an unknown parameter is an error. */
export const listQuerySchema = z.strictObject({
  limit: z.optional(
    z.pipe(
      z.string({ error: limitMessage }).check(z.regex(/^[0-9]{1,3}$/, { error: limitMessage })),
      z.transform((text: string) => Number(text)),
    ).check(z.refine((limit: number) => limit >= 1 && limit <= MAX_LIST_LIMIT, { error: limitMessage })),
  ),
  starting_after: z.optional(z.string({ error: 'starting_after must be an id' }).check(z.minLength(1), z.maxLength(100))),
});
export type ListQuery = z.output<typeof listQuerySchema>;
