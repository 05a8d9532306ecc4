import { sql } from "drizzle-orm";
import { check, pgTable, text, timestamp, uuid } from "drizzle-orm/pg-core";
import { clinics } from "./clinics";
import { createdAt, id, updatedAt } from "./columns";
import { appointmentStatus, appointmentType } from "./enums";
import { patients } from "./patients";
import { professionals } from "./professionals";

export const appointments = pgTable(
  "appointments",
  {
    id: id(),
    clinicId: uuid("clinic_id")
      .notNull()
      .references(() => clinics.id),
    patientId: uuid("patient_id")
      .notNull()
      .references(() => patients.id),
    professionalId: uuid("professional_id")
      .notNull()
      .references(() => professionals.id),
    startTime: timestamp("start_time", { withTimezone: true }).notNull(),
    endTime: timestamp("end_time", { withTimezone: true }).notNull(),
    status: appointmentStatus("status").notNull().default("scheduled"),
    appointmentType: appointmentType("appointment_type").notNull().default("in_person"),
    chiefComplaint: text("chief_complaint"),
    clinicalNotes: text("clinical_notes"),
    createdBy: uuid("created_by"),
    createdAt: createdAt(),
    updatedAt: updatedAt(),
  },
  (t) => [check("appointments_time_order", sql`${t.endTime} > ${t.startTime}`)],
);

export type Appointment = typeof appointments.$inferSelect;
export type NewAppointment = typeof appointments.$inferInsert;
