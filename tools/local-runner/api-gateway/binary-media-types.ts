/**
 * Whether a request's Content-Type or Accept value matches one of the RestApi's binary media types,
 * as API Gateway decides it: the first media type of the value (parameters dropped, any case) equals
 * a binary media type or falls under a `type/*` one; `*\/*` makes every request match, with or without
 * the header (then every body reaches the integration base64-encoded).
 */
export function matchesBinaryMediaTypes(value: string | undefined, binaryMediaTypes: readonly string[]): boolean {
  if (binaryMediaTypes.includes('*/*')) return true;
  const mediaType = value?.split(',')[0]?.split(';')[0]?.trim().toLowerCase();
  const slash = mediaType?.indexOf('/') ?? -1;
  if (!mediaType || slash <= 0 || slash === mediaType.length - 1) return false;
  const wildcard = `${mediaType.slice(0, slash)}/*`;
  return binaryMediaTypes.some((binary) => binary === mediaType || binary === wildcard);
}
