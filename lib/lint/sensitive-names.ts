/**
 * Column names that say what they hold: a CPF, an e-mail, a diagnosis. A new column named like one of
 * these and missing from the classification map is probably regulated data nobody tagged. Names are
 * matched by whole words of the snake_case name, in English and Portuguese.
 */
import type { DataClass } from "../../db/schema/classification";

const WORDS: Record<DataClass, readonly string[]> = {
  identifier: ["cpf", "cns", "rg", "ssn", "passport", "passaporte", "cnh", "pis", "nis", "document", "documento", "national", "tax", "sus"],
  personal: [
    "email", "mail", "phone", "telefone", "celular", "mobile", "whatsapp", "address", "endereco", "logradouro", "street", "cep", "zip",
    "postal", "birth", "birthday", "nascimento", "dob", "surname", "sobrenome", "nome", "mother", "mae", "father", "pai", "gender", "sexo",
    "genero", "ip", "geolocation", "latitude", "longitude", "ethnicity", "etnia", "raca", "religion", "religiao",
  ],
  health: [
    "diagnosis", "diagnoses", "diagnostico", "cid", "icd", "allergy", "allergies", "alergia", "alergias", "medication", "medications",
    "medicamento", "medicamentos", "prescription", "prescriptions", "prescricao", "symptom", "symptoms", "sintoma", "sintomas", "disease",
    "diseases", "doenca", "condition", "conditions", "treatment", "tratamento", "clinical", "clinico", "health", "saude", "blood",
    "sanguineo", "pregnancy", "pregnant", "gestante", "hiv", "disability", "deficiencia", "psychiatric", "mental", "exam", "exame",
    "anamnesis", "anamnese", "vaccine", "vacina",
  ],
  secret: ["password", "senha", "secret", "token", "passphrase", "apikey"],
};

/** Two-word names that are personal though neither word is on its own. */
const PHRASES: Record<string, DataClass> = { full_name: "personal", first_name: "personal", last_name: "personal", social_name: "personal", nome_social: "personal", api_key: "secret", private_key: "secret", encryption_key: "secret", medical_record: "identifier" };

const ORDER: readonly DataClass[] = ["health", "identifier", "secret", "personal"];

/** The class a column's name suggests, or null. */
export function suggestedClass(column: string): DataClass | null {
  const name = column.toLowerCase();
  for (const [phrase, cls] of Object.entries(PHRASES)) if (`_${name}_`.includes(`_${phrase}_`)) return cls;
  const words = new Set(name.split(/_+/).filter(Boolean));
  for (const cls of ORDER) if (WORDS[cls].some((w) => words.has(w))) return cls;
  return null;
}
