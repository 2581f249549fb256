-- The first schema: apps, groups, their counters and their members.
--
-- Every string a client gave (ids, names, accounts, keys, custom values) is
-- bytea: values are opaque bytes that JSON's \u0000 can fill with NUL, which
-- text refuses, and bytea compares bytewise, the order the API promises,
-- whatever the database's collation. Numbers Tally keeps as unsigned are
-- bigint, which holds every uint32 and every uint64 Tally reaches.
--
-- The statements stay within what CockroachDB and YugabyteDB also accept:
-- plain tables and indexes, no functions, triggers or sequences.

-- One row per app. seq is the last creation number handed to a group:
-- creating a group increments it in the creating transaction, whose row
-- lock makes creates in one app commit in the order of their numbers, so
-- that a page of ListGroups never misses a group committed later with a
-- smaller number. n_* count the app's groups of each type, for the
-- totals of ListGroups.
CREATE TABLE tally_apps (
	app          bigint NOT NULL PRIMARY KEY,
	seq          bigint NOT NULL,
	n_private    bigint NOT NULL DEFAULT 0,
	n_public     bigint NOT NULL DEFAULT 0,
	n_chatroom   bigint NOT NULL DEFAULT 0,
	n_avchatroom bigint NOT NULL DEFAULT 0,
	n_community  bigint NOT NULL DEFAULT 0
);

-- One row per group, every field of tally.Group. type is the index of the
-- type in tally.GroupTypes; apply_join and invite_join are 1 + the index
-- of the option in tally.JoinOptions, or 0 for none. app_data holds
-- AppDefinedData in the store's encoding (encoding.go). member_seq is the
-- last Seq handed to a member. Every write to a group, its counters or
-- its members locks this row first (SELECT ... FOR UPDATE), which
-- serialises them.
CREATE TABLE tally_groups (
	app            bigint   NOT NULL,
	id             bytea    NOT NULL,
	seq            bigint   NOT NULL,
	type           smallint NOT NULL,
	name           bytea    NOT NULL,
	owner          bytea    NOT NULL,
	create_time    bigint   NOT NULL,
	introduction   bytea    NOT NULL,
	notification   bytea    NOT NULL,
	face_url       bytea    NOT NULL,
	max_member_num bigint   NOT NULL,
	apply_join     smallint NOT NULL,
	invite_join    smallint NOT NULL,
	mute_all       boolean  NOT NULL,
	support_topic  boolean  NOT NULL,
	app_data       bytea    NOT NULL,
	info_seq       bigint   NOT NULL,
	last_info_time bigint   NOT NULL,
	member_num     bigint   NOT NULL,
	member_seq     bigint   NOT NULL,
	PRIMARY KEY (app, id)
);
CREATE UNIQUE INDEX tally_groups_by_seq ON tally_groups (app, seq);
CREATE INDEX tally_groups_by_type ON tally_groups (app, type, seq);

-- One row per group that has counters: all of them, sorted by key, in the
-- store's encoding. The group's row lock serialises every writer of them,
-- so rows per key would add no concurrency, only rows to read and write;
-- one row is one read and one write per request, and never torn.
CREATE TABLE tally_counters (
	app      bigint NOT NULL,
	group_id bytea  NOT NULL,
	data     bytea  NOT NULL,
	PRIMARY KEY (app, group_id)
);

-- One row per member. seq is the member's place in the group's join order;
-- data holds AppMemberDefinedData in the store's encoding. The indexes
-- serve a group's member pages, in seq order, and a user's joined list,
-- ordered by join time and then group id.
CREATE TABLE tally_members (
	app       bigint   NOT NULL,
	group_id  bytea    NOT NULL,
	account   bytea    NOT NULL,
	seq       bigint   NOT NULL,
	role      smallint NOT NULL,
	join_time bigint   NOT NULL,
	data      bytea    NOT NULL,
	PRIMARY KEY (app, group_id, account)
);
CREATE UNIQUE INDEX tally_members_by_seq ON tally_members (app, group_id, seq);
CREATE INDEX tally_members_by_account ON tally_members (app, account, join_time, group_id);
