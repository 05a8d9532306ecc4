import { boolean, date, pgTable, text, unique, uuid } from "drizzle-orm/pg-core";
import { clinics } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";

export const patients = pgTable(
  "patients",
  {
    id: id(),
    clinicId: uuid("clinic_id")
      .notNull()
      .references(() => clinics.id),
    medicalRecordNumber: text("medical_record_number"),
    fullName: text("full_name").notNull(),
    birthDate: date("birth_date"),
    accessibilityNeeds: text("accessibility_needs").array(),
    allergies: text("allergies").array(),
    chronicConditions: text("chronic_conditions").array(),
    patientNotes: text("patient_notes"),
    isActive: boolean("is_active").notNull().default(true),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [unique("patients_clinic_record_unique").on(t.clinicId, t.medicalRecordNumber)],
);

export type Patient = typeof patients.$inferSelect;
export type NewPatient = typeof patients.$inferInsert;
