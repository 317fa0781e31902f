# Statements that try to get past the query guard. Each entry starts with a
# line "#### <name> | layer1=<refused|allowed> layer2=<fails|runs|unsafe>":
#
#   layer1=refused  the statement guard (guard.go) refuses it before it
#                   reaches the database: CodeRefused.
#   layer1=allowed  the guard lets it through; the database must refuse it
#                   (read-only transaction): CodeQueryFailed.
#   layer2=fails    run through layer 2 alone (no parser: read-only
#                   transaction, extended protocol, cursor), the database
#                   refuses it.
#   layer2=runs     layer 2 alone runs it, and every effect is rolled back
#                   (checked by the checksums).
#   layer2=unsafe   layer 2 alone would run it with an effect outside the
#                   transaction (a file read or written, a session lock, WAL,
#                   statistics, another connection), so only layer 1 stands
#                   in the way; it is not run without layer 1.
#
# Placeholders: {{S}} the fixture schema (quoted), {{FILE}} a path that must
# not exist afterwards, {{PROG}} a shell command creating {{FILE}}.prog,
# {{DSN}} a connection string for the test database.
# Lines before the first "####" are comments.

#### two statements | layer1=refused layer2=fails
SELECT 1; DELETE FROM {{S}}.victim

#### commit then delete | layer1=refused layer2=fails
COMMIT; DELETE FROM {{S}}.victim

#### rollback then write | layer1=refused layer2=fails
ROLLBACK; BEGIN READ WRITE; UPDATE {{S}}.victim SET v = 'x'; COMMIT

#### semicolon hidden by a comment is still a second statement | layer1=refused layer2=fails
SELECT 1 /* ; */ ; /* */ DROP TABLE {{S}}.victim

#### line comment does not hide the second statement | layer1=refused layer2=fails
SELECT 1 -- comment
; TRUNCATE {{S}}.victim

#### plain delete | layer1=refused layer2=fails
DELETE FROM {{S}}.victim

#### update | layer1=refused layer2=fails
UPDATE {{S}}.victim SET v = 'owned'

#### insert | layer1=refused layer2=fails
INSERT INTO {{S}}.victim VALUES (100, 'x')

#### merge | layer1=refused layer2=fails
MERGE INTO {{S}}.victim t USING (SELECT 1 AS id) s ON t.id = s.id WHEN MATCHED THEN DELETE

#### truncate | layer1=refused layer2=fails
TRUNCATE {{S}}.victim

#### drop table | layer1=refused layer2=fails
DROP TABLE {{S}}.victim

#### data-modifying CTE | layer1=refused layer2=fails
WITH gone AS (DELETE FROM {{S}}.victim RETURNING *) SELECT * FROM gone

#### data-modifying CTE nested in a subquery | layer1=refused layer2=fails
SELECT * FROM (WITH gone AS (UPDATE {{S}}.victim SET v = 'x' RETURNING *) SELECT * FROM gone) s

#### data-modifying CTE after a harmless one | layer1=refused layer2=fails
WITH a AS (SELECT 1), b AS (INSERT INTO {{S}}.victim VALUES (101, 'x') RETURNING id) SELECT * FROM a, b

#### select into | layer1=refused layer2=fails
SELECT * INTO {{S}}.stolen FROM {{S}}.victim

#### create table as | layer1=refused layer2=fails
CREATE TABLE {{S}}.stolen AS SELECT * FROM {{S}}.victim

#### create temp table | layer1=refused layer2=fails
CREATE TEMP TABLE junction_corpus_tmp (a int)

#### explain analyze of a write | layer1=refused layer2=fails
EXPLAIN ANALYZE DELETE FROM {{S}}.victim

#### do block | layer1=refused layer2=fails
DO $$ BEGIN DELETE FROM {{S}}.victim; END $$

#### copy to a server file | layer1=refused layer2=fails
COPY {{S}}.victim TO '{{FILE}}'

#### copy query to program | layer1=refused layer2=fails
COPY (SELECT 1) TO PROGRAM '{{PROG}}'

#### copy from | layer1=refused layer2=fails
COPY {{S}}.victim FROM '/etc/hostname'

#### set_config turning read-only off | layer1=refused layer2=fails
SELECT set_config('transaction_read_only', 'off', true)

#### set_config schema-qualified and upper case | layer1=refused layer2=runs
SELECT PG_CATALOG.SET_CONFIG('statement_timeout', '0', false)

#### set_config quoted name | layer1=refused layer2=runs
SELECT "pg_catalog"."set_config"('work_mem', '1GB', false)

#### set_config hidden in a subquery in WHERE | layer1=refused layer2=runs
SELECT 1 WHERE EXISTS (SELECT set_config('work_mem', '1GB', false))

#### pg_read_file | layer1=refused layer2=unsafe
SELECT pg_read_file('/etc/passwd')

#### pg_read_binary_file in a CTE | layer1=refused layer2=unsafe
WITH f AS (SELECT pg_read_binary_file('/etc/passwd') AS b) SELECT * FROM f

#### pg_ls_dir in FROM | layer1=refused layer2=unsafe
SELECT * FROM pg_ls_dir('.')

#### pg_stat_file | layer1=refused layer2=unsafe
SELECT pg_stat_file('/etc/passwd')

#### lo_import reads a server file into a large object | layer1=refused layer2=unsafe
SELECT lo_get(lo_import('/etc/hostname'))

#### lo_export of a large object | layer1=refused layer2=unsafe
SELECT lo_export(oid, '{{FILE}}') FROM pg_largeobject_metadata

#### lo_from_bytea creating a large object | layer1=refused layer2=runs
SELECT lo_from_bytea(0, 'x')

#### pg_file_write (adminpack) | layer1=refused layer2=unsafe
SELECT pg_file_write('{{FILE}}', 'x', false)

#### dblink_exec writes through another connection | layer1=refused layer2=unsafe
SELECT dblink_exec('{{DSN}}', 'DELETE FROM {{S}}.victim')

#### dblink in FROM | layer1=refused layer2=unsafe
SELECT * FROM dblink('{{DSN}}', 'DELETE FROM {{S}}.victim RETURNING 1') AS t(x int)

#### query_to_xml running a write | layer1=refused layer2=fails
SELECT query_to_xml('DELETE FROM {{S}}.victim RETURNING 1', true, false, '')

#### query_to_xml running a denied function the parser cannot see | layer1=refused layer2=unsafe
SELECT query_to_xml('SELECT pg_read_file(''/etc/passwd'')', true, false, '')

#### ts_stat running SQL text | layer1=refused layer2=fails
SELECT * FROM ts_stat('DELETE FROM {{S}}.victim RETURNING null::tsvector')

#### for update | layer1=refused layer2=fails
SELECT * FROM {{S}}.victim FOR UPDATE

#### for share in a subquery | layer1=refused layer2=fails
SELECT * FROM (SELECT * FROM {{S}}.victim FOR SHARE) s

#### for key share in a CTE | layer1=refused layer2=fails
WITH l AS (SELECT * FROM {{S}}.victim FOR KEY SHARE) SELECT * FROM l

#### prepare | layer1=refused layer2=fails
PREPARE junction_corpus_p AS DELETE FROM {{S}}.victim

#### execute | layer1=refused layer2=fails
EXECUTE junction_corpus_p

#### call | layer1=refused layer2=fails
CALL {{S}}.my_proc()

#### lock | layer1=refused layer2=fails
LOCK TABLE {{S}}.victim IN ACCESS EXCLUSIVE MODE

#### set | layer1=refused layer2=fails
SET default_transaction_read_only = off

#### set session characteristics | layer1=refused layer2=fails
SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE

#### reset | layer1=refused layer2=fails
RESET ALL

#### listen | layer1=refused layer2=fails
LISTEN junction_corpus

#### notify | layer1=refused layer2=fails
NOTIFY junction_corpus, 'x'

#### pg_notify | layer1=refused layer2=runs
SELECT pg_notify('junction_corpus', 'x')

#### nextval | layer1=refused layer2=fails
SELECT nextval('{{S}}.victim_seq')

#### setval schema-qualified | layer1=refused layer2=fails
SELECT pg_catalog.setval('{{S}}.victim_seq', 1000)

#### nextval in attribute notation | layer1=refused layer2=fails
SELECT s.nextval FROM (SELECT '{{S}}.victim_seq'::regclass) AS s(x)

#### currval | layer1=refused layer2=fails
SELECT currval('{{S}}.victim_seq')

#### advisory lock | layer1=refused layer2=unsafe
SELECT pg_advisory_lock(42)

#### try advisory lock in FROM | layer1=refused layer2=unsafe
SELECT * FROM pg_try_advisory_lock(42)

#### txid_current assigns a transaction id | layer1=refused layer2=unsafe
SELECT txid_current()

#### pg_current_xact_id | layer1=refused layer2=unsafe
SELECT pg_current_xact_id()

#### pg_terminate_backend | layer1=refused layer2=unsafe
SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE false

#### pg_cancel_backend | layer1=refused layer2=unsafe
SELECT pg_cancel_backend(-1)

#### pg_reload_conf | layer1=refused layer2=unsafe
SELECT pg_reload_conf()

#### pg_switch_wal | layer1=refused layer2=unsafe
SELECT pg_switch_wal()

#### logical replication slot | layer1=refused layer2=unsafe
SELECT pg_create_logical_replication_slot('junction_corpus', 'test_decoding')

#### statistics reset | layer1=refused layer2=unsafe
SELECT pg_stat_reset()

#### vacuum | layer1=refused layer2=fails
VACUUM {{S}}.victim

#### analyze | layer1=refused layer2=fails
ANALYZE {{S}}.victim

#### refresh materialized view | layer1=refused layer2=fails
REFRESH MATERIALIZED VIEW {{S}}.victim_mv

#### create function | layer1=refused layer2=fails
CREATE FUNCTION {{S}}.evil() RETURNS int LANGUAGE sql AS 'SELECT 1'

#### grant | layer1=refused layer2=fails
GRANT ALL ON {{S}}.victim TO PUBLIC

#### dollar quotes hide nothing: the body is a string | layer1=refused layer2=fails
SELECT $x$ harmless $x$; DELETE FROM {{S}}.victim

#### keyword split by a comment | layer1=refused layer2=fails
DEL/**/ETE FROM {{S}}.victim

#### a backslash does not end a string (standard_conforming_strings) | layer1=refused layer2=fails
SELECT 'a\'; DELETE FROM {{S}}.victim; --'

#### unicode escapes spell a denied function | layer1=refused layer2=unsafe
SELECT U&"pg_read_\0066ile"('/etc/passwd')

#### begin | layer1=refused layer2=fails
BEGIN

#### show | layer1=refused layer2=fails
SHOW ALL

#### declare a cursor | layer1=refused layer2=fails
DECLARE junction_other CURSOR WITH HOLD FOR SELECT * FROM {{S}}.victim

#### a volatile function that writes (the parser cannot know) | layer1=allowed layer2=fails
SELECT {{S}}.my_writer()

#### a writing function in a CTE | layer1=allowed layer2=fails
WITH w AS (SELECT {{S}}.my_writer() AS n) SELECT n FROM w
