import { describe, expect, it } from "vitest";
import {
  cnpjFromSeed,
  cnsFromSeed,
  cpfFromSeed,
  formatCpf,
  isSha256Hex,
  isUf,
  isValidAnvisaProtocol,
  isValidCnpj,
  isValidCns,
  isValidCpf,
  isValidCrm,
  isValidTuss,
  parseCrm,
  UFS,
} from "../../lib/br/identifiers";
import { uf } from "../../db/schema/enums";

describe("CPF", () => {
  it("accepts valid numbers, with or without punctuation", () => {
    expect(isValidCpf("52998224725")).toBe(true);
    expect(isValidCpf("529.982.247-25")).toBe(true);
    expect(isValidCpf(" 529.982.247-25 ")).toBe(true);
  });

  it("rejects wrong check digits, repeated digits, wrong lengths and letters", () => {
    expect(isValidCpf("12345678900")).toBe(false);
    expect(isValidCpf("52998224724")).toBe(false);
    expect(isValidCpf("52998224715")).toBe(false);
    expect(isValidCpf("11111111111")).toBe(false);
    expect(isValidCpf("00000000000")).toBe(false);
    expect(isValidCpf("5299822472")).toBe(false);
    expect(isValidCpf("529982247250")).toBe(false);
    expect(isValidCpf("5299822472a")).toBe(false);
    expect(isValidCpf("")).toBe(false);
  });

  it("formats", () => {
    expect(formatCpf("52998224725")).toBe("529.982.247-25");
    expect(formatCpf("abc")).toBe("abc");
  });

  it("generates valid, deterministic, mostly distinct numbers from a seed", () => {
    expect(cpfFromSeed(42)).toBe(cpfFromSeed(42));
    expect(cpfFromSeed("patient-7")).toBe(cpfFromSeed("patient-7"));
    const many = Array.from({ length: 2000 }, (_, i) => cpfFromSeed(i));
    for (const cpf of many) expect(isValidCpf(cpf), cpf).toBe(true);
    expect(new Set(many).size).toBeGreaterThan(1990);
  });
});

describe("CNS", () => {
  it("accepts a weighted sum divisible by 11 with an allowed first digit", () => {
    expect(isValidCns("700000000000005")).toBe(true);
    expect(isValidCns("100000000000007")).toBe(true);
    expect(isValidCns("700 0000 0000 0005")).toBe(true);
  });

  it("rejects a wrong sum, a wrong first digit and a wrong length", () => {
    expect(isValidCns("700000000000004")).toBe(false);
    // Σ = 3·15 + 5·2 = 55 ≡ 0, but CNS never starts with 3.
    expect(isValidCns("300000000000050")).toBe(false);
    expect(isValidCns("70000000000005")).toBe(false);
    expect(isValidCns("7000000000000050")).toBe(false);
  });

  it("generates valid, deterministic, mostly distinct numbers from a seed", () => {
    expect(cnsFromSeed(42)).toBe(cnsFromSeed(42));
    const many = Array.from({ length: 2000 }, (_, i) => cnsFromSeed(i));
    for (const cns of many) expect(isValidCns(cns), cns).toBe(true);
    expect(new Set(many).size).toBeGreaterThan(1990);
  });
});

describe("CNPJ", () => {
  it("validates check digits", () => {
    expect(isValidCnpj("11222333000181")).toBe(true);
    expect(isValidCnpj("11.222.333/0001-81")).toBe(true);
    expect(isValidCnpj("11222333000182")).toBe(false);
    expect(isValidCnpj("11111111111111")).toBe(false);
    expect(isValidCnpj("1122233300018")).toBe(false);
  });

  it("generates valid head-office numbers from a seed", () => {
    expect(cnpjFromSeed(1)).toBe(cnpjFromSeed(1));
    for (let i = 0; i < 500; i++) {
      const cnpj = cnpjFromSeed(i);
      expect(isValidCnpj(cnpj), cnpj).toBe(true);
      expect(cnpj.slice(8, 12)).toBe("0001");
    }
  });
});

describe("TUSS, CRM, UF, ANVISA, SHA-256", () => {
  it("checks TUSS codes", () => {
    expect(isValidTuss("10101012")).toBe(true);
    expect(isValidTuss("1010101")).toBe(false);
    expect(isValidTuss("101010123")).toBe(false);
    expect(isValidTuss("1010101a")).toBe(false);
  });

  it("knows the 27 UFs, the same list as the uf enum", () => {
    expect(UFS).toHaveLength(27);
    expect(uf.enumValues).toEqual([...UFS]);
    expect(isUf("SP")).toBe(true);
    expect(isUf("DF")).toBe(true);
    expect(isUf("sp")).toBe(false);
    expect(isUf("XX")).toBe(false);
  });

  it("checks and parses CRM registrations", () => {
    expect(isValidCrm("1234", "SP")).toBe(true);
    expect(isValidCrm("123456", "RJ")).toBe(true);
    expect(isValidCrm("123", "SP")).toBe(false);
    expect(isValidCrm("1234567", "SP")).toBe(false);
    expect(isValidCrm("12345", "XX")).toBe(false);
    expect(parseCrm("CRM/SP 123456")).toEqual({ number: "123456", uf: "SP" });
    expect(parseCrm("crm-mg 4567")).toEqual({ number: "4567", uf: "MG" });
    expect(parseCrm("123456/SP")).toEqual({ number: "123456", uf: "SP" });
    expect(parseCrm("123456-rj")).toEqual({ number: "123456", uf: "RJ" });
    expect(parseCrm("CRM/XX 123456")).toBeNull();
    expect(parseCrm("12/SP")).toBeNull();
    expect(parseCrm("hello")).toBeNull();
  });

  it("checks ANVISA protocol numbers", () => {
    expect(isValidAnvisaProtocol("2500.123456/2024-01")).toBe(true);
    expect(isValidAnvisaProtocol("2500123456/2024-01")).toBe(false);
    expect(isValidAnvisaProtocol("2500.12345/2024-01")).toBe(false);
    expect(isValidAnvisaProtocol("2500.123456/2024-1")).toBe(false);
  });

  it("checks SHA-256 hex text", () => {
    expect(isSha256Hex("a".repeat(64))).toBe(true);
    expect(isSha256Hex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")).toBe(true);
    expect(isSha256Hex("A".repeat(64))).toBe(false);
    expect(isSha256Hex("a".repeat(63))).toBe(false);
    expect(isSha256Hex("g".repeat(64))).toBe(false);
  });
});
