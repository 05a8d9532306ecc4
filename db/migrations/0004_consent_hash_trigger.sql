-- The consent proof: consent_hash = sha256 over the canonical consent fields, computed here so that no
-- client can store a fake one. The canonical text is a jsonb object (jsonb prints its keys in a fixed
-- order) with given_at in UTC, so the value does not depend on the session's TimeZone. Verification
-- recomputes it with lgpd.consent_hash(row).
CREATE FUNCTION "lgpd"."consent_canonical_text"(c "lgpd"."lgpd_consents") RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
  SELECT jsonb_build_object(
    'id', c.id,
    'patient_id', c.patient_id,
    'clinic_id', c.clinic_id,
    'legal_basis', c.legal_basis,
    'processing_purpose', c.processing_purpose,
    'data_categories', to_jsonb(c.data_categories),
    'consent_version', c.consent_version,
    'consent_text', c.consent_text,
    'given_at', to_char(c.given_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
  )::text
$$;
--> statement-breakpoint
CREATE FUNCTION "lgpd"."consent_hash"(c "lgpd"."lgpd_consents") RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, public
AS $$
  SELECT encode(digest(convert_to("lgpd"."consent_canonical_text"(c), 'UTF8'), 'sha256'), 'hex')
$$;
--> statement-breakpoint
-- Whatever consent_hash an INSERT supplies is replaced. Column defaults (the id) are already filled in
-- when a BEFORE trigger runs.
CREATE FUNCTION "lgpd"."lgpd_consents_set_hash"() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  NEW.consent_hash := "lgpd"."consent_hash"(NEW);
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- Status, withdrawal and review fields may change; the hashed fields and the hash itself may not.
CREATE FUNCTION "lgpd"."lgpd_consents_guard_hash"() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, public
AS $$
BEGIN
  IF NEW.consent_hash IS DISTINCT FROM OLD.consent_hash
     OR "lgpd"."consent_canonical_text"(NEW) IS DISTINCT FROM "lgpd"."consent_canonical_text"(OLD) THEN
    RAISE EXCEPTION 'consent % is hashed: its canonical fields and consent_hash cannot change', OLD.id
      USING ERRCODE = 'integrity_constraint_violation',
            HINT = 'Withdraw this consent and record a new one.';
  END IF;
  RETURN NEW;
END
$$;
--> statement-breakpoint
-- Hashes stored before this migration came from clients: replace them before the guard freezes them.
UPDATE "lgpd"."lgpd_consents" AS c SET consent_hash = "lgpd"."consent_hash"(c);
--> statement-breakpoint
CREATE TRIGGER "lgpd_consents_set_hash" BEFORE INSERT ON "lgpd"."lgpd_consents"
FOR EACH ROW EXECUTE FUNCTION "lgpd"."lgpd_consents_set_hash"();
--> statement-breakpoint
CREATE TRIGGER "lgpd_consents_guard_hash" BEFORE UPDATE ON "lgpd"."lgpd_consents"
FOR EACH ROW EXECUTE FUNCTION "lgpd"."lgpd_consents_guard_hash"();
