/** Metadata keys shared by every service. */
export const ERROR_CODE_KEY = 'faas-error-code';
export const AUTHORIZATION_KEY = 'authorization';

export function bearer(token: string): string {
  return `Bearer ${token}`;
}
