/** The documentation file that holds the generated settings table, from the repository root. */
export const configTableFile = "docs/configuration.md";

const start = "<!-- config-table:start -->\n";
const end = "<!-- config-table:end -->";

/** The table now between the markers of `doc`; undefined when the markers are missing. */
export function currentConfigTable(doc: string): string | undefined {
  return doc.split(start)[1]?.split(end)[0];
}

/** `doc` with `table` between its markers. */
export function withConfigTable(doc: string, table: string): string {
  const [head, rest] = doc.split(start);
  const tail = rest?.split(end)[1];
  if (head === undefined || tail === undefined) throw new Error(`${configTableFile} has no ${start.trim()} … ${end} markers`);
  return `${head}${start}${table}${end}${tail}`;
}
