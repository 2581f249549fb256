-- Rate limits kept by all nodes together (rate.go). One row per limit and
-- slot of 10 ms by the database's clock, holding the calls leased in that
-- slot; a lease is granted only while the calls leased in the last 106
-- slots (a second and a lease's span of 50 ms) stay within the limit. The row of slot -1 is the limit's
-- lock: a lease locks it first, which orders the leases of one limit by
-- the database's clock. scope is the command, or '' for the app-wide
-- limit. Rows of slots past the window are deleted by the next lease.
CREATE TABLE tally_rate_leases (
	app   bigint NOT NULL,
	scope text   NOT NULL,
	slot  bigint NOT NULL,
	calls bigint NOT NULL,
	PRIMARY KEY (app, scope, slot)
);
