import { isMap, isScalar, isSeq, type Document, type LineCounter, type Node } from 'yaml';
import type { ConfigPath, LocateConfigPath } from './config-finding.js';

function scalarText(node: unknown): string | undefined {
  if (!isScalar(node)) return undefined;
  const value: unknown = node.value;
  return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
    ? String(value)
    : undefined;
}

/**
 * Map configuration paths to lines in the YAML source. A path points at its key (so a block value
 * reports the line of its key); a path that does not exist in the file (a missing key, a default)
 * reports the closest ancestor that does.
 */
export function createYamlLocator(document: Document, lineCounter: LineCounter): LocateConfigPath {
  const position = (offset: number): { line: number; column: number } => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  return (path: ConfigPath) => {
    let node: unknown = document.contents;
    let offset = document.contents?.range?.[0];
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((item) => scalarText(item.key) === String(segment));
        if (!pair) break;
        offset = (pair.key as Node).range?.[0] ?? offset;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        const item = node.items[segment] as Node | undefined;
        if (!item) break;
        offset = item.range?.[0] ?? offset;
        node = item;
      } else break;
    }
    return offset === undefined ? undefined : position(offset);
  };
}
