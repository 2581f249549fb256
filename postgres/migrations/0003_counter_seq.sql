-- A group's Seq, the number of changes its counters have had, kept in its
-- counters row so that the transaction that changes them writes it too.
-- Rows of earlier releases read as 0. A group whose counters are all
-- deleted keeps its row, with its seq and no data, so that its Seq goes
-- on; destroying the group deletes the row, so a group re-created under
-- the id starts again at 0. ADD COLUMN with a constant default is one
-- statement that CockroachDB and YugabyteDB accept as well.
ALTER TABLE tally_counters ADD COLUMN seq bigint NOT NULL DEFAULT 0;
