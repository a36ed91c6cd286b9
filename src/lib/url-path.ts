/** A request URL's path without its query (no array and no copy when there is no query: it runs on every request). */
export function pathOf(url: string | undefined): string {
  if (url === undefined) return "";
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}
