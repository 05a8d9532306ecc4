-- Stored hashes stay as they are: they are still the values the trigger computed.
DROP TRIGGER "lgpd_consents_guard_hash" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP TRIGGER "lgpd_consents_set_hash" ON "lgpd"."lgpd_consents";
--> statement-breakpoint
DROP FUNCTION "lgpd"."lgpd_consents_guard_hash"();
--> statement-breakpoint
DROP FUNCTION "lgpd"."lgpd_consents_set_hash"();
--> statement-breakpoint
DROP FUNCTION "lgpd"."consent_hash"("lgpd"."lgpd_consents");
--> statement-breakpoint
DROP FUNCTION "lgpd"."consent_canonical_text"("lgpd"."lgpd_consents");
