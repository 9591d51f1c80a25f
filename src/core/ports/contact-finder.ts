/**
 * Finds contacts in the source system live, by e-mail, for the record trace: the store keeps no
 * e-mail addresses, so a search by e-mail asks Dynamics each time and keeps nothing (neither the
 * address nor the answer).
 */
export interface ContactFinder {
  /** Ids (lower-case GUIDs) of the contacts whose primary e-mail is `email`, at most `limit`. */
  findByEmail(email: string, limit: number): Promise<string[]>;
}

/** Whether a trace query is an e-mail address (and so must be looked up live). */
export function isEmailQuery(query: string): boolean {
  return /^[^\s@'"]+@[^\s@'"]+\.[^\s@'"]+$/.test(query);
}
