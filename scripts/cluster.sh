#!/usr/bin/env bash
# Starts a Tally cluster on this machine, for trying it out: a PostgreSQL
# primary with a synchronous standby, and three Tally nodes that share
# them, all on loopback. It prints how to call the nodes, and stops
# everything on Ctrl-C.
#
#   scripts/cluster.sh [DIR]    # DIR defaults to a new temporary directory
#
# It needs Go and PostgreSQL's server programs (Debian: apt-get install
# postgresql). PostgreSQL refuses to run as root, so as root the database
# runs as the postgres user. Not for production: the database trusts every
# local connection.
set -euo pipefail
cd "$(dirname "$0")/.."

dir=${1:-$(mktemp -d /tmp/tally-cluster.XXXXXX)}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
if [ -z "$pgbin" ]; then
	echo "PostgreSQL's server programs are not installed (apt-get install postgresql)" >&2
	exit 1
fi
as_pg=()
if [ "$(id -u)" = 0 ]; then
	as_pg=(runuser -u postgres --)
	chown postgres "$dir"
fi
pg() { "${as_pg[@]}" "$pgbin/$1" "${@:2}"; }

primary_port=15432 standby_port=15433
sdkappid=1400000001 key=cluster-demo-secret-key admin=administrator

echo "== PostgreSQL primary on 127.0.0.1:$primary_port, synchronous standby on :$standby_port, in $dir"
pg initdb -D "$dir/primary" -U tally --auth=trust >/dev/null
cat >>"$dir/primary/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $primary_port
unix_socket_directories = '$dir'
synchronous_commit = on
CONF
echo "host replication tally 127.0.0.1/32 trust" >>"$dir/primary/pg_hba.conf"
pg pg_ctl -D "$dir/primary" -l "$dir/primary.log" -w start >/dev/null
pg createdb -h 127.0.0.1 -p $primary_port -U tally tally
pg pg_basebackup -h 127.0.0.1 -p $primary_port -U tally -D "$dir/standby" -R \
	-d "application_name=standby host=127.0.0.1 port=$primary_port user=tally"
cat >>"$dir/standby/postgresql.conf" <<CONF
port = $standby_port
CONF
pg pg_ctl -D "$dir/standby" -l "$dir/standby.log" -w start >/dev/null
# Only now that the standby is up may a commit wait for it; set earlier,
# createdb would have waited for it forever.
pg psql -q -h 127.0.0.1 -p $primary_port -U tally -d tally -c "ALTER SYSTEM SET synchronous_standby_names = 'standby'"
pg pg_ctl -D "$dir/primary" reload >/dev/null

echo "== Building tally"
go build -o "$dir/tally" ./cmd/tally

store="postgres://tally@127.0.0.1:$primary_port,127.0.0.1:$standby_port/tally?target_session_attrs=read-write"
cat >"$dir/tally.yaml" <<YAML
store: "$store"
apps:
  - sdkappid: $sdkappid
    secret_key: "$key"
    admins: ["$admin"]
YAML

pids=()
stop() {
	echo
	echo "== Stopping"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	pg pg_ctl -D "$dir/standby" -m fast stop >/dev/null 2>&1 || true
	pg pg_ctl -D "$dir/primary" -m fast stop >/dev/null 2>&1 || true
	echo "Data and logs are in $dir"
}
trap stop EXIT
for n in 1 2 3; do
	"$dir/tally" serve --config "$dir/tally.yaml" --listen "127.0.0.1:808$n" --data "$dir/node$n" \
		>"$dir/node$n.out" 2>"$dir/node$n.log" &
	pids+=($!)
done
for n in 1 2 3; do
	until curl -fsS "http://127.0.0.1:808$n/healthz" >/dev/null 2>&1; do
		if ! kill -0 "${pids[$((n - 1))]}" 2>/dev/null; then
			echo "node $n did not start:" >&2
			cat "$dir/node$n.log" >&2
			exit 1
		fi
		sleep 0.1
	done
done

sig=$("$dir/tally" usersig --sdkappid $sdkappid --key "$key" --identifier $admin)
q="sdkappid=$sdkappid&identifier=$admin&usersig=$sig&random=1&contenttype=json"
cat <<TXT
== Three nodes are serving on http://127.0.0.1:8081, :8082 and :8083

Create a group on one node, count on another, read on the third:

  curl -s 'http://127.0.0.1:8081/v4/group_open_http_svc/create_group?$q' -d '{"Type":"AVChatRoom","Name":"live","GroupId":"live"}'
  curl -s 'http://127.0.0.1:8082/v4/group_open_http_svc/update_group_counter?$q' -d '{"GroupId":"live","Mode":"Increase","GroupCounter":[{"Key":"likes","Value":1}]}'
  curl -s 'http://127.0.0.1:8083/v4/group_open_http_svc/get_group_counter?$q' -d '{"GroupId":"live"}'

Health of a node: curl http://127.0.0.1:8081/healthz (503 while the database is unreachable).
Fail over: $pgbin/pg_ctl -D $dir/primary -m immediate stop, then
$pgbin/pg_ctl -D $dir/standby promote; the nodes reconnect by themselves.

Logs: $dir/node{1,2,3}.log, $dir/primary.log, $dir/standby.log. Ctrl-C stops everything.
TXT
wait
