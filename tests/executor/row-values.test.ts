/**
 * A migration that fails on a production table must not copy patients' data into the run log, the
 * audit trail or the browser: PostgreSQL's errors quote the failing row, the duplicate key, the
 * value a cast refused. Each case here is PostgreSQL's own error, raised for real.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutRowValues } from "../../lib/connection/connect";
import { applyMigrations, readStatus } from "../../lib/executor";
import { freshDatabase, type TestDatabase } from "../support/databases";
import { failure, fixtureCatalog, removeFixtureFolders, statements } from "./support";

const NAME = "Maria Aparecida da Silva";
const CPF = "123.456.789-09";

let db: TestDatabase;
beforeAll(async () => {
  db = await freshDatabase({ prefix: "exec_row_values" });
  await db.sql.unsafe(`
    CREATE TYPE council AS ENUM ('CRM', 'COREN');
    CREATE TABLE clinics (id int PRIMARY KEY);
    CREATE TABLE patients (id int PRIMARY KEY, clinic_id int REFERENCES clinics, full_name text NOT NULL, cpf text UNIQUE, age int CHECK (age >= 0), notes text);
    INSERT INTO clinics VALUES (1);
    INSERT INTO patients VALUES (1, 1, '${NAME}', '${CPF}', 40, NULL);`);
});
afterAll(async () => {
  await db?.drop();
  removeFixtureFolders();
});

/** PostgreSQL's error for `statement`, as the driver hands it over. */
async function errorOf(statement: string): Promise<{ code: string; message: string; detail?: string }> {
  try {
    await db.sql.unsafe(statement);
  } catch (e) {
    return e as { code: string; message: string; detail?: string };
  }
  throw new Error(`expected ${statement} to fail`);
}

const leaks = (text: string) => [NAME, CPF, "Maria", "789-09", "40"].filter((v) => text.includes(v));

describe("PostgreSQL's errors, without the values they quote", () => {
  it.each([
    ["a NOT NULL violation's failing row", `INSERT INTO patients VALUES (2, 1, NULL, '${CPF}x', 40, '${NAME}')`, "23502", /null value in column "full_name"/, /^Failing row contains \(values withheld/],
    ["a CHECK violation's failing row", `UPDATE patients SET age = -${40}`, "23514", /violates check constraint "patients_age_check"/, /^Failing row contains \(values withheld/],
    ["a duplicate key's values", `INSERT INTO patients VALUES (3, 1, 'x', '${CPF}', 1, NULL)`, "23505", /violates unique constraint "patients_cpf_key"/, /^Key \(cpf\)=\(values withheld\) already exists\.$/],
    ["a missing foreign key's values", `INSERT INTO patients VALUES (4, 40, '${NAME}', NULL, 1, NULL)`, "23503", /violates foreign key constraint "patients_clinic_id_fkey"/, /^Key \(clinic_id\)=\(values withheld\) is not present in table "clinics"\.$/],
    ["the input a cast refused", `SELECT '${NAME}'::int`, "22P02", /^invalid input syntax for type integer: \(value withheld\)$/, undefined],
    ["the input an enum refused", `SELECT '${CPF}'::council`, "22P02", /^invalid input value for enum council: \(value withheld\)$/, undefined],
    ["a value out of range", `SELECT '4000000000040'::int`, "22003", /^value \(withheld\) is out of range for type integer$/, undefined],
  ])("%s", async (_what, statement, code, message, detail) => {
    const err = await errorOf(statement);
    expect(err.code).toBe(code);
    const clean = withoutRowValues(err);
    expect(clean.message).toMatch(message);
    if (detail) expect(clean.detail).toMatch(detail);
    expect(leaks(`${clean.message} ${clean.detail ?? ""}`)).toEqual([]);
  });

  it("a migration failing on a patients table names the statement and the constraint, and quotes no patient's data", async () => {
    const catalog = await fixtureCatalog([{ tag: "0000_cpf_required", up: statements("UPDATE patients SET cpf = NULL WHERE id = 1", "UPDATE patients SET age = age - 100") }]);
    const error = await failure(applyMigrations({ url: db.url, catalog, actor: "ana@clinic.example" }));
    expect(error.details).toMatchObject({ tag: "0000_cpf_required", statement: 2, sqlstate: "23514" });
    expect(error.message).toContain('violates check constraint "patients_age_check"');
    expect(error.message).toContain("Failing row contains (values withheld");
    expect(leaks(JSON.stringify(error.toJSON()))).toEqual([]);
    expect((await readStatus(db.url, catalog)).pending).toEqual(["0000_cpf_required"]);
  });
});

describe("the same errors from a server that speaks Portuguese (lc_messages = pt_BR)", () => {
  // PostgreSQL's pt_BR translations, as such a server sends them (this machine's servers have no
  // translations installed): the rule goes by the error's class and the detail's shape, not by its words.
  it.each([
    ["a NOT NULL violation's failing row", { code: "23502", message: 'o valor nulo na coluna "full_name" da relação "patients" viola a restrição de não-nulo', detail: `A linha que falhou contém (2, 1, null, ${CPF}x, 40, ${NAME}).` }, /^o valor nulo na coluna "full_name"/, /^Failing row contains \(values withheld/],
    ["a duplicate key's values", { code: "23505", message: 'duplicar valor da chave viola a restrição de unicidade "patients_cpf_key"', detail: `Chave (cpf)=(${CPF}) já existe.` }, /"patients_cpf_key"$/, /^Key \(cpf\)=\(values withheld\)$/],
    ["an expression key's values", { code: "23505", message: 'duplicar valor da chave viola a restrição de unicidade "patients_name_idx"', detail: `Chave (lower(full_name))=(${NAME.toLowerCase()}) já existe.` }, /"patients_name_idx"$/, /^Key \(lower\(full_name\)\)=\(values withheld\)$/],
    ["the input a cast refused", { code: "22P02", message: `sintaxe de entrada é inválida para tipo integer: "${NAME}"` }, /^sintaxe de entrada é inválida para tipo integer: \(value withheld\)$/, undefined],
    ["a value out of range", { code: "22003", message: 'valor "4000000000040" está fora do intervalo para tipo integer' }, /^valor \(value withheld\) está fora do intervalo/, undefined],
    ["a data exception's detail", { code: "22007", message: `sintaxe de entrada é inválida para tipo date: "${CPF}"`, detail: `O valor "${CPF}" não é uma data.` }, /\(value withheld\)$/, /^\(detail withheld/],
  ])("%s", (_what, err, message, detail) => {
    const clean = withoutRowValues(err);
    expect(clean.message).toMatch(message);
    if (detail) expect(clean.detail).toMatch(detail);
    expect(leaks(`${clean.message} ${clean.detail ?? ""}`)).toEqual([]);
  });
});
