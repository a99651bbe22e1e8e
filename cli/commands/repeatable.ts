/** commander option parser for flags that may be given several times. */
export function collect (value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value]
}
