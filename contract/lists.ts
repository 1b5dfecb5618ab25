/**
 * Every list the API returns has one shape, `{"object":"list","data":[…],"has_more":boolean}`, and one
 * query: `limit` (1–100, default 10) and `starting_after` (the id of the last item of the previous
 * page). Lists are newest first; a page read with `starting_after` never skips or repeats an item
 * that existed when the first page was read, however many new ones arrive meanwhile (they come before
 * the cursor). Handlers validate the query with these schemas; the OpenAPI document is generated
 * from them.
 */
import * as z from 'zod/mini';
import { PAYMENT_STATUSES } from '#domain/payment';
import './zod-messages.ts';

export const DEFAULT_LIST_LIMIT = 10;
export const MAX_LIST_LIMIT = 100;
/** Ids are short ASCII tokens (`pay_…`, `re_…`, `evt_…`); anything longer is not one. */
const MAX_CURSOR_LENGTH = 64;

const limitMessage = `limit must be an integer between 1 and ${MAX_LIST_LIMIT}`;
export const listLimitSchema = z.coerce
  .number({ error: limitMessage })
  .check(z.int({ error: limitMessage }), z.minimum(1, { error: limitMessage }), z.maximum(MAX_LIST_LIMIT, { error: limitMessage }));

const cursorMessage = 'starting_after must be the id of an item of the previous page';
export const startingAfterSchema = z.string({ error: cursorMessage }).check(
  z.minLength(1, { error: cursorMessage }),
  z.maxLength(MAX_CURSOR_LENGTH, { error: cursorMessage }),
  z.regex(/^[A-Za-z0-9_]+$/, { error: cursorMessage }),
);

/** The query every list accepts; a list with filters extends it (`z.extend(listQuerySchema, {...})`). Strict: an unknown parameter is a 400. */
export const listQuerySchema = z.strictObject({
  limit: z.optional(listLimitSchema),
  starting_after: z.optional(startingAfterSchema),
});
export type ListQuery = z.output<typeof listQuerySchema>;

/** Query of GET /v1/payments: a page, optionally only the payments in one status. */
export const listPaymentsQuerySchema = z.extend(listQuerySchema, {
  status: z.optional(z.enum(PAYMENT_STATUSES, { error: `status must be one of ${PAYMENT_STATUSES.join(', ')}` })),
});
export type ListPaymentsQuery = z.output<typeof listPaymentsQuerySchema>;

/** A page of `item`s, as the API answers a list request. */
export function listSchema<Item extends z.ZodMiniType>(item: Item) {
  return z.strictObject({
    object: z.literal('list'),
    data: z.array(item),
    has_more: z.boolean(),
  });
}

export interface ListView<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export function toListView<T, View>(page: { items: readonly T[]; hasMore: boolean }, view: (item: T) => View): ListView<View> {
  return { object: 'list', data: page.items.map(view), has_more: page.hasMore };
}

/** The same page type under the name the events and webhook endpoints use. */
export type ListPage<T> = ListView<T>;
export const listPage = <T>(data: T[], hasMore: boolean): ListPage<T> => ({ object: 'list', data, has_more: hasMore });
