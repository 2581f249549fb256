-- The outbox of after-events (tally.Outbox, outbox.go): one row per event,
-- inserted by the transaction of the write that caused it, so that an
-- event commits, durably, with its change or not at all.
--
-- An event's id comes from a sequence, the one sequence of the schema:
-- unlike a group's creation number (0001), an event's id need not commit
-- in order across groups, only within one group, and the writers of a
-- group take theirs one after another behind its row lock, each after the
-- one before has committed. CACHE 1, PostgreSQL's and CockroachDB's
-- default, is named because a session that cached a range of ids would
-- hand a later write of a group a smaller id than another session gave an
-- earlier one; YugabyteDB caches at least ysql_sequence_cache_minval ids
-- per session whatever CACHE says, so it must run with that flag at 1.
CREATE SEQUENCE tally_outbox_ids CACHE 1;

-- kind is the tally.EventKind; time is EventTime, Unix milliseconds;
-- body is the event's JSON as the root package built it. group_id and
-- client_ip are bytea, as every string a client gave is (0001).
CREATE TABLE tally_outbox (
	id        bigint   NOT NULL DEFAULT nextval('tally_outbox_ids') PRIMARY KEY,
	app       bigint   NOT NULL,
	group_id  bytea    NOT NULL,
	kind      smallint NOT NULL,
	client_ip bytea    NOT NULL,
	time      bigint   NOT NULL,
	body      bytea    NOT NULL
);

-- The claim of delivering the outbox, held by one node at a time
-- (ClaimDelivery): name is 'outbox', the one row, holder the node that
-- holds it, and until_us when it runs out, in microseconds by the
-- database's clock, so that the nodes' clocks play no part.
CREATE TABLE tally_claims (
	name     text   NOT NULL PRIMARY KEY,
	holder   text   NOT NULL,
	until_us bigint NOT NULL
);
