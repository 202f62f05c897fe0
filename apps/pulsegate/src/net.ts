/** Why a fetch() could not get an answer: the socket error code (ECONNREFUSED, ENOTFOUND…) undici keeps in `cause`, else its message. */
export function fetchFailure(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
