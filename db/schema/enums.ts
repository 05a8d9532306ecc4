import { pgEnum } from "drizzle-orm/pg-core";

export const appointmentStatus = pgEnum("appointment_status", [
  "scheduled",
  "confirmed",
  "in_progress",
  "completed",
  "cancelled",
  "no_show",
]);

export const appointmentType = pgEnum("appointment_type", ["in_person", "telemedicine", "hybrid"]);
