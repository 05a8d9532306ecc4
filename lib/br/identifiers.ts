/**
 * Brazilian identifiers (domain.md "Brazilian identifiers", plus CNPJ for clinics): validation, and
 * deterministic generators of valid CPF, CNS and CNPJ numbers for synthetic demo data. Pure, no I/O.
 */

/** The 26 states and the Federal District. */
export const UFS = [
  "AC", "AL", "AP", "AM", "BA", "CE", "DF", "ES", "GO", "MA", "MT", "MS", "MG", "PA",
  "PB", "PR", "PE", "PI", "RJ", "RN", "RS", "RO", "RR", "SC", "SP", "SE", "TO",
] as const;
export type Uf = (typeof UFS)[number];

const UF_SET: ReadonlySet<string> = new Set(UFS);

export function isUf(value: string): value is Uf {
  return UF_SET.has(value);
}

/** Removes the punctuation people type in identifiers (dots, dashes, slashes, spaces); keeps anything else. */
export function stripPunctuation(value: string): string {
  return value.replace(/[.\-/\s]/g, "");
}

function digitsOf(value: string): number[] {
  return Array.from(value, Number);
}

// dv = (Σ digit·weight · 10 mod 11) mod 10, weights descending from digits.length + 1 to 2.
function cpfCheckDigit(digits: readonly number[]): number {
  const sum = digits.reduce((acc, d, i) => acc + d * (digits.length + 1 - i), 0);
  return ((sum * 10) % 11) % 10;
}

/** CPF: 11 digits after stripping punctuation, not all the same digit, both check digits right. */
export function isValidCpf(value: string): boolean {
  const cpf = stripPunctuation(value);
  if (!/^\d{11}$/.test(cpf) || /^(\d)\1{10}$/.test(cpf)) return false;
  const d = digitsOf(cpf);
  return cpfCheckDigit(d.slice(0, 9)) === d[9] && cpfCheckDigit(d.slice(0, 10)) === d[10];
}

/** `52998224725` → `529.982.247-25`; other input is returned unchanged. */
export function formatCpf(value: string): string {
  const cpf = stripPunctuation(value);
  return /^\d{11}$/.test(cpf) ? `${cpf.slice(0, 3)}.${cpf.slice(3, 6)}.${cpf.slice(6, 9)}-${cpf.slice(9)}` : value;
}

// Weights cycle 2..9 from the rightmost digit; dv = 0 when the remainder is below 2, else 11 − remainder.
function cnpjCheckDigit(digits: readonly number[]): number {
  const sum = digits.reduce((acc, d, i) => acc + d * (((digits.length - 1 - i) % 8) + 2), 0);
  const rest = sum % 11;
  return rest < 2 ? 0 : 11 - rest;
}

/** CNPJ (numeric form): 14 digits after stripping punctuation, not all the same digit, check digits right. */
export function isValidCnpj(value: string): boolean {
  const cnpj = stripPunctuation(value);
  if (!/^\d{14}$/.test(cnpj) || /^(\d)\1{13}$/.test(cnpj)) return false;
  const d = digitsOf(cnpj);
  return cnpjCheckDigit(d.slice(0, 12)) === d[12] && cnpjCheckDigit(d.slice(0, 13)) === d[13];
}

const CNS_FIRST_DIGITS = new Set(["1", "2", "7", "8", "9"]);

function cnsWeightedSum(digits: readonly number[]): number {
  return digits.reduce((acc, d, i) => acc + d * (15 - i), 0);
}

/** CNS (Cartão Nacional de Saúde): 15 digits, first 1, 2, 7, 8 or 9, Σ digitᵢ·(15−i) ≡ 0 (mod 11). */
export function isValidCns(value: string): boolean {
  const cns = stripPunctuation(value);
  if (!/^\d{15}$/.test(cns) || !CNS_FIRST_DIGITS.has(cns[0]!)) return false;
  return cnsWeightedSum(digitsOf(cns)) % 11 === 0;
}

/** TUSS procedure code: exactly 8 digits. */
export function isValidTuss(value: string): boolean {
  return /^\d{8}$/.test(value);
}

/** CRM registration: 4 to 6 digits, in one of the 27 UFs. */
export function isValidCrm(number: string, uf: string): boolean {
  return /^\d{4,6}$/.test(number) && isUf(uf);
}

/** Reads `CRM/SP 123456`, `CRM-SP 123456`, `123456/SP` or `123456-SP`; null when it is not a valid CRM. */
export function parseCrm(text: string): { number: string; uf: Uf } | null {
  const t = text.trim().toUpperCase();
  const match = /^CRM[\s/-]*([A-Z]{2})[\s/-]*(\d+)$/.exec(t) ?? /^(\d+)\s*[/-]\s*([A-Z]{2})$/.exec(t);
  if (!match) return null;
  const [number, uf] = /^\d/.test(match[1]!) ? [match[1]!, match[2]!] : [match[2]!, match[1]!];
  return isValidCrm(number, uf) && isUf(uf) ? { number, uf } : null;
}

/** ANVISA protocol number: `dddd.dddddd/dddd-dd`. */
export function isValidAnvisaProtocol(value: string): boolean {
  return /^\d{4}\.\d{6}\/\d{4}-\d{2}$/.test(value);
}

/** SHA-256 as text: 64 lowercase hex characters. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-f]{64}$/.test(value);
}

/**
 * A small deterministic generator (mulberry32) for synthetic data: the same seed gives the same sequence
 * on every machine. Not for anything secret.
 */
export function seededRandom(seed: number | string): () => number {
  let state = typeof seed === "number" ? seed >>> 0 : fnv1a(seed);
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function randomDigits(random: () => number, count: number): number[] {
  return Array.from({ length: count }, () => Math.floor(random() * 10));
}

/** A valid CPF (11 digits, unformatted) derived from the seed. */
export function cpfFromSeed(seed: number | string): string {
  const random = seededRandom(`cpf:${seed}`);
  let base = randomDigits(random, 9);
  while (base.every((d) => d === base[0])) base = randomDigits(random, 9);
  const first = cpfCheckDigit(base);
  const second = cpfCheckDigit([...base, first]);
  return [...base, first, second].join("");
}

/** A valid CNPJ of a head office (branch 0001) derived from the seed. */
export function cnpjFromSeed(seed: number | string): string {
  const random = seededRandom(`cnpj:${seed}`);
  const base = [...randomDigits(random, 8), 0, 0, 0, 1];
  const first = cnpjCheckDigit(base);
  return [...base, first, cnpjCheckDigit([...base, first])].join("");
}

/**
 * A valid CNS derived from the seed, of the provisional kind (first digit 7, 8 or 9): 13 random digits, then
 * the last digit (weight 1) closes the sum to a multiple of 11. When that would take a 10, the digit of
 * weight 2 moves by one (each step changes the sum by 2, so some step leaves a remainder with a 0-9 fix).
 */
export function cnsFromSeed(seed: number | string): string {
  const random = seededRandom(`cns:${seed}`);
  const digits = [7 + Math.floor(random() * 3), ...randomDigits(random, 13)];
  for (;;) {
    const last = (11 - (cnsWeightedSum(digits) % 11)) % 11;
    if (last < 10) return [...digits, last].join("");
    digits[13] = (digits[13]! + 1) % 10;
  }
}
