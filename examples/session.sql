-- A sqlite3 shell session: run it with `sqlite3 < examples/session.sql` from the repository
-- root after building (the README shows the same lines typed by hand).
.load ./build/libltxvfs
.open file:/tmp/ltxvfs-example/app.db?vfs=ltx
CREATE TABLE IF NOT EXISTS todo(id INTEGER PRIMARY KEY, task TEXT, done INTEGER DEFAULT 0);
INSERT INTO todo(task) VALUES ('write the README'), ('ship it');
UPDATE todo SET done = 1 WHERE id = 1;
SELECT ltx_txid();
SELECT json_extract(ltx_stats(), '$.replica');
