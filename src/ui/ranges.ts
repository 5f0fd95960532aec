/** `[0,1,2,3,5,7]` → `0-3,5,7`: compact NPU lists in summaries. */
export function compactRanges(values: readonly number[]): string {
  const sorted = [...new Set(values)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < sorted.length; i++) {
    const start = sorted[i]!;
    let end = start;
    while (sorted[i + 1] === end + 1) end = sorted[++i]!;
    parts.push(end > start + 1 ? `${start}-${end}` : end === start + 1 ? `${start},${end}` : `${start}`);
  }
  return parts.join(',');
}
