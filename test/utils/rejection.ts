/** The error `p` rejects with; fails the test when it resolves instead. */
export async function rejection (p: Promise<unknown>): Promise<Error> {
  try {
    await p
  } catch (err: any) {
    return err
  }
  throw new Error('expected a rejection')
}
