/** True when the store refused a write because its KEK version was destroyed by a rotation (see migration 1 triggers). */
export function staleKekError(cause: unknown): boolean {
  return cause instanceof Error && cause.message.includes('labvault: stale key-encryption key version');
}
