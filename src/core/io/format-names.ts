/** How a file's `format` and `version` metadata read in a message, missing ones included. */
export function describeFormat(metadata: Record<string, string | undefined>): string {
  const show = (key: string) => (metadata[key] === undefined ? `no ${key}` : `${key} ${JSON.stringify(metadata[key])}`);
  return `${show('format')} and ${show('version')}`;
}
