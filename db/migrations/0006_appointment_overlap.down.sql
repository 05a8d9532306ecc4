ALTER TABLE "appointments" DROP CONSTRAINT "appointments_no_professional_overlap";
