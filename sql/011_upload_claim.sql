-- Who is writing an upload's file. A PATCH streams its body without holding a database
-- connection, so the session advisory lock that used to serialise PATCHes (it lives on the
-- connection) gives way to a claim on the row: a random token and the end of its lease,
-- committed before the first byte is read and cleared after the last. A writer renews the
-- lease before touching the file when little of it is left, and leaves the file alone once
-- its token is gone; a claim of a process that died lapses with its lease. Claims work
-- across any number of `serve` processes, since they live where the upload does.
ALTER TABLE upload
  ADD COLUMN patch_claim    text CHECK (patch_claim ~ '^[0-9a-f]{32}$'),
  ADD COLUMN patching_until timestamptz,
  ADD CONSTRAINT upload_claim_whole CHECK ((patch_claim IS NULL) = (patching_until IS NULL));
